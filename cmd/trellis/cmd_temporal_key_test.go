package main

import (
	"strings"
	"testing"

	"trellis/engine"
)

// 'trellis temporal key' prints the embedded frontend's credential: the one serve derives
// from the data dir's decision key, and nothing before serve made that key.
func TestTemporalKey(t *testing.T) {
	data := t.TempDir()
	code, _, errOut := runCLI(t, "", "temporal", "key", "--data", data)
	if code != 1 || !strings.Contains(errOut, "start 'trellis serve") {
		t.Fatalf("before serve: exit %d, %q", code, errOut)
	}
	key, err := loadDecisionKey(data)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "temporal", "key", "--data", data)
	if code != 0 || strings.TrimSpace(out) != engine.FrontendToken(key) {
		t.Fatalf("exit %d, out %q, err %q; want the token", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "", "temporal", "key", "extra", "--data", data); code != 2 {
		t.Errorf("an argument: exit %d, want 2", code)
	}
}
