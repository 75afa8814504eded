package engine

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

// TestMapItemsLimit: a worker's --max-map-items of 3 fails a map of 4 items, naming the node,
// both numbers and the flag, and lets a map of 3 run; without a limit the default holds
// (TestMapInlineBody's "too many items").
func TestMapItemsLimit(t *testing.T) {
	body := `{"kind": "transform", "config": {"value": "item * 2"}}`
	limited := func(env *testsuite.TestWorkflowEnvironment) {
		env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: testDeadlockLimit, Interceptors: mapLimitInterceptors(3)})
	}
	res := runInTestEnv(t, mustGraph(t, mapGraph("[1, 2, 3, 4]", body, "")), nil, Deps{}, limited)
	want := "node m has 4 items, more than the limit of 3 (serve --max-map-items)"
	if res.err == nil || !strings.Contains(res.err.Error(), want) {
		t.Fatalf("err = %v, want %q", res.err, want)
	}
	if st := res.state.Nodes["m"]; st.Status != NodeFailed || st.Error == nil || st.Error.Type != ErrTypeMapItems {
		t.Fatalf("node m = %s", toJSON(st))
	}
	res = runInTestEnv(t, mustGraph(t, mapGraph("[1, 2, 3]", body, "")), nil, Deps{}, limited)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := toJSON(res.state.Nodes["m"].Output.(map[string]any)["items"]); got != "[2,4,6]" {
		t.Fatalf("items = %s, want [2,4,6]", got)
	}
}
