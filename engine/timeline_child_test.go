package engine

import "testing"

// A child run is named by the node of this run that started it, not by the last part of
// its id ("3" for a map's item, "batch0" for its batch), with the item's index.
func TestChildNode(t *testing.T) {
	for _, c := range []struct {
		child, node string
		item        int // -1: none
	}{
		{"run-1.sub", "sub", -1},
		{"run-1.m.3", "m", 3},
		{"run-1.m.batch0", "m", -1},
		{"run-1.agent.2.1", "agent", -1},
		{"other.x", "x", -1},
	} {
		node, item := childNode("run-1", c.child)
		got := -1
		if item != nil {
			got = *item
		}
		if node != c.node || got != c.item {
			t.Errorf("childNode(%q) = %q, %d; want %q, %d", c.child, node, got, c.node, c.item)
		}
	}
}
