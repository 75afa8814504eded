package engine

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

// TestWaitUntilCapped: issue 18 found a wait of 100 years accepted; a literal duration is
// refused when the run starts (actions), and an until that lies further ahead than the
// worker's cap fails its node, naming it, instead of setting the timer.
func TestWaitUntilCapped(t *testing.T) {
	g := mustGraph(t, `{"nodes": [{"id": "hold", "kind": "wait", "config": {"until": "input.at"}}], "edges": []}`)
	withCap := func(d time.Duration) func(env *testsuite.TestWorkflowEnvironment) {
		return func(env *testsuite.TestWorkflowEnvironment) {
			env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: testDeadlockLimit, Interceptors: waitCapInterceptors(d)})
		}
	}
	for _, c := range []struct {
		name  string
		at    string
		cap   time.Duration
		fails string
	}{
		{name: "a century, default cap", at: time.Now().AddDate(100, 0, 0).UTC().Format(time.RFC3339), fails: "longer than this server allows a wait (365 days"},
		{name: "two hours, cap of one", at: time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339), cap: time.Hour, fails: "longer than this server allows a wait (1h0m0s"},
		{name: "half an hour, cap of one", at: time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339), cap: time.Hour},
	} {
		var before func(env *testsuite.TestWorkflowEnvironment)
		if c.cap > 0 {
			before = withCap(c.cap)
		}
		res := runInTestEnv(t, g, map[string]any{"at": c.at}, Deps{}, before)
		n := res.state.Nodes["hold"]
		if c.fails == "" {
			if res.err != nil || n.Status != NodeCompleted {
				t.Errorf("%s: %v, node %s", c.name, res.err, toJSON(n))
			}
			continue
		}
		if n.Status != NodeFailed || n.Error == nil || n.Error.Type != ErrTypeBadWait ||
			!strings.Contains(n.Error.Message, "node hold: until gives") || !strings.Contains(n.Error.Message, c.fails) {
			t.Errorf("%s: node %s, want failed saying %q", c.name, toJSON(n), c.fails)
		}
	}
}
