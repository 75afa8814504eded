package designer

import (
	"strings"
	"testing"
)

// TestGraphOnError: a graph-level on_error is the default of nodes that set none; continue
// applies only where a kind has an error port; an unknown value is a graph problem; the
// default is part of the canonical form.
func TestGraphOnError(t *testing.T) {
	src := `{"format":"trellis.graph/v1","name":"t","on_error":"continue","nodes":[` +
		node("h", "http", `{"url":"https://x.test"}`) + "," + node("w", "wait", `{"duration":"1s"}`) + "," +
		node("f", "http", `{"url":"https://x.test"}`, `"on_error":"fail"`) + "," + tr("b") +
		`],"edges":[{"from":"h","to":"b","port":"error"}]}`
	g, probs, err := ParseAndValidate([]byte(src), Limits{}, ValidateEnv{})
	if err != nil || len(probs) > 0 {
		t.Fatalf("problems %v, err %v", probs, err)
	}
	for id, want := range map[string]string{"h": OnErrorContinue, "w": OnErrorFail, "f": OnErrorFail} {
		n, _ := g.NodeByID(id)
		if got := g.ErrorPolicyOf(n); got != want {
			t.Errorf("ErrorPolicyOf(%s) = %s, want %s", id, got, want)
		}
	}
	g.OnError = OnErrorHold
	w, _ := g.NodeByID("w")
	if got := g.ErrorPolicyOf(w); got != OnErrorHold {
		t.Errorf("hold default on a wait node = %s", got)
	}
	c, err := Canonical(g)
	if err != nil || !strings.Contains(string(c), `"on_error":"hold"}`) {
		t.Errorf("canonical form %s, %v: the default is missing", c, err)
	}
	bad := strings.Replace(src, `"on_error":"continue"`, `"on_error":"later"`, 1)
	_, probs, _ = ParseAndValidate([]byte(bad), Limits{}, ValidateEnv{})
	if len(probs) == 0 || probs[0].Field != "on_error" || !strings.Contains(probs[0].Message, `not "later"`) {
		t.Errorf("problems %v, want the graph's on_error named", probs)
	}
}
