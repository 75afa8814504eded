package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"trellis/designer"
	"trellis/internal/testsvc"
)

// mustGraph decodes a test graph; tb may be nil outside a test.
func mustGraph(tb testing.TB, s string) designer.Graph {
	var g designer.Graph
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		if tb == nil {
			panic(err)
		}
		tb.Fatalf("bad test graph: %v\n%s", err, s)
	}
	if g.Format == "" {
		g.Format = designer.Format
	}
	return g
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// memVersions is a VersionSource over graphs held in memory, keyed "id@version".
type memVersions map[string]designer.Graph

func (m memVersions) VersionDefinition(_ context.Context, id string, v int) (*designer.Graph, error) {
	g, ok := m[fmt.Sprintf("%s@%d", id, v)]
	if !ok {
		return nil, fmt.Errorf("graph %s v%d: %w", id, v, ErrVersionNotFound)
	}
	return &g, nil
}

// memSecrets is a SecretSource over a map.
type memSecrets map[string]string

func (m memSecrets) Secret(_ context.Context, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("secret %s: %w", name, ErrSecretNotFound)
	}
	return v, nil
}

// flakyServer fails the first `fails` requests with 500, then answers {"ok": true, "n": N}.
type flakyServer struct {
	*httptest.Server
	fails int64
	hits  atomic.Int64
}

func newFlakyServer(tb testing.TB, fails int) *flakyServer {
	f := &flakyServer{fails: int64(fails)}
	f.Server = testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.hits.Add(1)
		if n <= f.fails {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok": true, "n": %d}`, n)
	}))
	tb.Cleanup(f.Close)
	return f
}

// recorder is an httptest server that records requests and answers with a fixed status.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
}

type recorded struct {
	method, path string
	header       http.Header
	body         string
}

func newRecorder(tb testing.TB, status int, body string) *recorder {
	rec := &recorder{status: status, body: body}
	rec.Server = testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if rec.status < 0 {
			// A negative status answers only when the client gives up.
			<-r.Context().Done()
			return
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{method: r.Method, path: r.URL.RequestURI(), header: r.Header.Clone(), body: string(b)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.status)
		io.WriteString(w, rec.body)
	}))
	tb.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

type envResult struct {
	out   any
	err   error
	state RunState
}

// runInTestEnv runs a definition in the SDK's test environment (time is skipped).
// testDeadlockLimit replaces the SDK's one-second deadlock detector in tests. It measures
// wall time, and on a 2-core CI machine running -race builds of other packages beside
// these tests, a workflow task that takes 20 ms alone has stalled past one second
// (TestRunCompilesConfigsAsNodesStart). A real deadlock still fails; how long a large
// graph's workflow task takes is measured by make bench (large_graph2000_first_task_ms).
const testDeadlockLimit = 30 * time.Second

func runInTestEnv(t *testing.T, g designer.Graph, input any, deps Deps,
	before func(env *testsuite.TestWorkflowEnvironment)) envResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(NewSDKLogger(quietLogger()))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: testDeadlockLimit})
	register(env, &deps)
	if before != nil {
		before(env)
	}
	env.ExecuteWorkflow(WorkflowName, RunInput{RunID: "run-test", GraphID: "g", Version: 1,
		Definition: g, Input: input, StartedBy: "tester"})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res envResult
	res.err = env.GetWorkflowError()
	if res.err == nil {
		if err := env.GetWorkflowResult(&res.out); err != nil {
			t.Fatalf("decode result: %v", err)
		}
	}
	v, err := env.QueryWorkflow(StateQuery)
	if err != nil {
		t.Fatalf("query state: %v", err)
	}
	if err := v.Get(&res.state); err != nil {
		t.Fatalf("decode state: %v", err)
	}
	return res
}

func statuses(st RunState) map[string]string {
	out := make(map[string]string, len(st.Nodes))
	for id, n := range st.Nodes {
		out[id] = n.Status
	}
	return out
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}
