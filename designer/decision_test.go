package designer

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestMayDecide(t *testing.T) {
	tests := []struct {
		name                  string
		assignee, claimer, by string
		groups                []string
		want                  bool
	}{
		{"assigned user", "user:ann", "", "ann", nil, true},
		{"other user", "user:ann", "", "bob", nil, false},
		{"group member", "group:finance", "", "bob", []string{"finance"}, true},
		{"not in group", "group:finance", "", "bob", []string{"legal"}, false},
		{"claimed by another member", "group:finance", "ann", "bob", []string{"finance"}, false},
		{"claimer", "group:finance", "ann", "ann", []string{"finance"}, true},
		{"nobody", "user:ann", "", "", nil, false},
		{"malformed assignee", "ann", "", "ann", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MayDecide(tt.assignee, tt.claimer, tt.by, tt.groups); got != tt.want {
				t.Errorf("MayDecide(%q, %q, %q, %v) = %v, want %v", tt.assignee, tt.claimer, tt.by, tt.groups, got, tt.want)
			}
		})
	}
}

func TestCheckDecision(t *testing.T) {
	form, err := CompileSchema([]byte(`{"type": "object", "required": ["amount"],
		"properties": {"amount": {"type": "number"}, "a/b": {"type": "string", "default": "x"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"a/b": 3.0}
	got := CheckDecision([]string{"approve", "reject"}, form, "", strings.Repeat("é", MaxCommentLength+1), data)
	var fields []string
	for _, p := range got {
		fields = append(fields, p.Field)
	}
	want := []string{"outcome", "comment", "data.amount", "data.a/b"}
	if !sameSet(fields, want) {
		t.Fatalf("problems on %v, want %v: %+v", fields, want, got)
	}
	if !strings.HasPrefix(got[0].Message, "outcome is required") {
		t.Errorf("outcome message %q does not say it is required", got[0].Message)
	}
	if !reflect.DeepEqual(data, map[string]any{"a/b": 3.0}) {
		t.Errorf("CheckDecision changed its data: %v", data)
	}
	if probs := CheckDecision([]string{"approve"}, form, "approve", "ok", map[string]any{"amount": 2.0}); len(probs) != 0 {
		t.Errorf("a fitting decision has problems: %+v", probs)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestNodeIDPatternIsTheRule: the pattern pages and the editor use says what ValidNodeID does.
func TestNodeIDPatternIsTheRule(t *testing.T) {
	re := regexp.MustCompile(`^` + NodeIDPattern + `$`)
	for _, id := range []string{"a", "fetch_2", "A", "1a", "a-b", "", strings.Repeat("a", 63), strings.Repeat("a", 64), "é"} {
		if re.MatchString(id) != ValidNodeID(id) {
			t.Errorf("%q: pattern says %v, ValidNodeID says %v", id, re.MatchString(id), ValidNodeID(id))
		}
	}
}

func TestSubgraphRefs(t *testing.T) {
	doc := []byte(`{"nodes": [{"id": "a", "kind": "subgraph", "config": {"graph": "g1"}},
		{"id": "b", "kind": "transform", "config": {"graph": "nope"}},
		{"id": "c", "kind": "subgraph", "config": {"graph": "g1", "version": 2}},
		{"id": "d", "kind": "subgraph", "config": "broken"},
		{"id": "e", "kind": "subgraph", "config": {"graph": "g2"}}]}`)
	if got := SubgraphRefs(doc); !reflect.DeepEqual(got, []string{"g1", "g2"}) {
		t.Errorf("SubgraphRefs = %v, want [g1 g2]", got)
	}
	if got := SubgraphRefs([]byte(`not json`)); got != nil {
		t.Errorf("SubgraphRefs of a non-document = %v", got)
	}
}
