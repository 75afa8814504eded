package enginestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"trellis/designer"
	"trellis/engine"
	"trellis/enginestore"
	"trellis/store"
)

// The fault tests: the real embedded server, the real store and its engine adapters, and a
// fault made by the test (the frontend stopped, the store file locked) while runs wait.

// faultApproval asks group finance for an amount, then says what it paid.
const faultApproval = `{"format": "trellis.graph/v1", "nodes": [
	{"id": "review", "kind": "approval", "config": {"title": "Pay {{ input.n }}", "assignee": "group:finance",
		"form": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}}}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid ' + string(nodes.review.output.data.amount)"}}],
  "edges": [{"from": "review", "to": "pay", "port": "approve"}]}`

// faultWait waits faultWaitFor, then ends.
const faultWait = `{"format": "trellis.graph/v1", "nodes": [
	{"id": "later", "kind": "wait", "config": {"duration": "20s"}},
	{"id": "done", "kind": "transform", "config": {"value": "'woke ' + string(input.n)"}}],
  "edges": [{"from": "later", "to": "done"}]}`

// faultWaitFor is faultWait's duration: long enough that a loaded machine has started the
// runs before the first timer comes due.
const faultWaitFor = 20 * time.Second

func faultGraph(t *testing.T, doc string) designer.Graph {
	t.Helper()
	var g designer.Graph
	if err := json.Unmarshal([]byte(doc), &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// faultCluster is the embedded server on a data dir of its own, a client and a worker on
// the store's adapters; the test may stop the server and start it again under the client.
type faultCluster struct {
	dir   string // Temporal's data
	dbDir string // the store's
	srv   *engine.Server
	c     client.Client
	eng   *engine.Engine
	db    *store.DB
}

// faultToken is the test servers' frontend credential, the same across a restart.
const faultToken = "test-frontend-token"

func startFaultCluster(t *testing.T) *faultCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fc := &faultCluster{dir: t.TempDir()}
	fc.dbDir = t.TempDir()
	db, err := store.OpenScratch(fc.dbDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fc.db = db
	if fc.srv, err = engine.StartServer(engine.ServerConfig{DataDir: fc.dir, Token: faultToken, Logger: quiet}); err != nil {
		t.Fatalf("start temporal: %v", err)
	}
	t.Cleanup(func() { _ = fc.srv.Stop() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		fc.c, err = client.Dial(fc.srv.ClientOptions(client.Options{Namespace: engine.Namespace, Logger: engine.NewSDKLogger(quiet)}))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial temporal: %v", err)
	}
	t.Cleanup(fc.c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := engine.EnsureSearchAttributes(ctx, fc.c, engine.Namespace); err != nil {
		t.Fatalf("search attributes: %v", err)
	}
	w := engine.NewWorker(fc.c, engine.Deps{Tasks: enginestore.Tasks{DB: db}, Logger: quiet})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	fc.eng = engine.New(fc.c, engine.Options{})
	return fc
}

func (fc *faultCluster) start(t *testing.T, doc string, n int) string {
	t.Helper()
	id, err := fc.eng.StartRun(context.Background(), engine.StartRunRequest{GraphID: "fault", Version: 1,
		Definition: faultGraph(t, doc), Input: map[string]any{"n": n}, StartedBy: "ann"})
	if err != nil {
		t.Fatalf("start run %d: %v", n, err)
	}
	return id
}

// waitFor polls ok every 200 ms until it says true; the deadline only keeps a broken run
// from hanging the test.
func waitFor(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		var done bool
		if done, last = ok(); done {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("gave up waiting until %s; last: %s", what, last)
}

// waitNode waits until the run's node has the status.
func (fc *faultCluster) waitNode(t *testing.T, id, node string, status string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("run %s node %s is %s", id, node, status), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r, err := fc.eng.GetRun(ctx, id)
		if err != nil {
			return false, err.Error()
		}
		return r.Nodes[node].Status == status, fmt.Sprintf("%+v", r.Nodes[node])
	})
}

// result waits for the run's end and returns its output; a run that did not complete fails
// the test.
func (fc *faultCluster) result(t *testing.T, id string) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var out any
	if err := fc.c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	r, err := fc.eng.GetRun(ctx, id)
	if err != nil || r.Status != engine.RunCompleted {
		t.Fatalf("run %s after its end: %+v, %v", id, r, err)
	}
	return r.Output
}

// decide decides the run's review, trying again while the cluster comes back; a refusal
// as decided already would mean an earlier try was applied, and fails the test.
func (fc *faultCluster) decide(t *testing.T, id string, amount int) {
	t.Helper()
	waitFor(t, "run "+id+" takes its decision", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := fc.eng.Decide(ctx, id, "review", engine.Decision{Outcome: "approve", Data: map[string]any{"amount": amount},
			By: "bob", Groups: []string{"finance"}})
		var de *engine.DecisionError
		if errors.As(err, &de) && de.Reason != engine.DecisionNotWaiting {
			t.Fatalf("decision on %s refused: %s %s", id, de.Reason, de.Message)
		}
		return err == nil, fmt.Sprint(err)
	})
}

// TestFrontendRestartWhileRunsWait stops the Temporal frontend (the whole embedded server)
// while runs wait for a reviewer and on timers, keeps it down past the timers' time, and
// starts it again on the same address and data. The worker and client are the same
// throughout: they reconnect by themselves. Every run then ends as it should, each task is
// decided once in the store, and the timers that came due in the outage fire.
func TestFrontendRestartWhileRunsWait(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	var approvals, waits []string
	for n := range 3 {
		approvals = append(approvals, fc.start(t, faultApproval, n))
		waits = append(waits, fc.start(t, faultWait, n))
	}
	for _, id := range approvals {
		fc.waitNode(t, id, "review", engine.NodeWaiting)
	}
	// Each timer started; the outage below lasts until the last of them is due.
	var due time.Time
	for _, id := range waits {
		waitFor(t, fmt.Sprintf("run %s node later has started", id), func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r, err := fc.eng.GetRun(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			n := r.Nodes["later"]
			if n.StartedAt == nil {
				return false, fmt.Sprintf("%+v", n)
			}
			if d := n.StartedAt.Add(faultWaitFor); d.After(due) {
				due = d
			}
			return true, ""
		})
	}

	addr := fc.srv.HostPort()
	if err := fc.srv.Stop(); err != nil {
		t.Fatalf("stop the frontend: %v", err)
	}
	waitFor(t, "the frontend is gone", func() (bool, string) {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := fc.c.CheckHealth(hctx, &client.CheckHealthRequest{})
		return err != nil, "still answers"
	})
	// The outage outlasts the wait nodes' timers: those still pending come due while it is down.
	time.Sleep(time.Until(due) + time.Second)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The same address, so the client finds it again; the port was ours a moment ago, but
	// give a straggling socket of the old server some time to let it go.
	var srv *engine.Server
	var err error
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		srv, err = engine.StartServer(engine.ServerConfig{DataDir: fc.dir, FrontendAddr: addr, Token: faultToken, Logger: quiet})
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("start the frontend again on %s: %v", addr, err)
	}
	fc.srv = srv

	for i, id := range approvals {
		fc.decide(t, id, 10+i)
	}
	for i, id := range approvals {
		if out, want := fmt.Sprint(fc.result(t, id)), fmt.Sprintf("map[pay:paid %d]", 10+i); out != want {
			t.Errorf("run %s ended with %s, want %s", id, out, want)
		}
		task, err := fc.db.GetTaskByNode(ctx, id, "review")
		if err != nil || task.State != store.TaskDone || task.Decision == nil || task.Decision.DecidedBy != "bob" {
			t.Errorf("task of %s after the outage: %+v, %v", id, task, err)
		}
	}
	for i, id := range waits {
		if out, want := fmt.Sprint(fc.result(t, id)), fmt.Sprintf("map[done:woke %d]", i); out != want {
			t.Errorf("wait run %s ended with %s, want %s", id, out, want)
		}
	}
}

// TestStoreBusyDuringTaskOpen holds the store's SQLite file locked for writing (another
// connection in an exclusive transaction, as a backup or a CLI command might) when a run's
// approval opens its task. The activity fails on the busy store and is retried; once the
// lock is let go the task is opened, once, and the run goes on to its end.
func TestStoreBusyDuringTaskOpen(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()

	lock := fc.lockStore(t)
	id := fc.start(t, faultApproval, 1)
	fc.waitRetrying(t, id, "approval.open")
	if _, err := fc.db.GetTaskByNode(ctx, id, "review"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a task exists while the store is locked: %v", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}

	fc.waitNode(t, id, "review", engine.NodeWaiting)
	fc.decide(t, id, 5)
	if out := fmt.Sprint(fc.result(t, id)); out != "map[pay:paid 5]" {
		t.Fatalf("run ended with %s", out)
	}
	// One task a node (the store's unique key), opened once and decided by the reviewer.
	if task, err := fc.db.GetTaskByNode(ctx, id, "review"); err != nil || task.State != store.TaskDone || task.Decision == nil ||
		task.Decision.DecidedBy != "bob" {
		t.Fatalf("task after the lock: %+v, %v", task, err)
	}
	if n := fc.mostAttempts(t, id); n < 2 {
		t.Fatalf("no activity of the run was retried (most attempts %d)", n)
	}
}

// TestStoreBusyDuringDecision locks the store when a reviewer decides: the run takes the
// decision, and recording it in the store (the task's closing) fails on the busy store and
// is retried while the reviewer's request waits. Once the lock is let go the decision is
// recorded, once, the reviewer's request returns, and the run completes with it.
func TestStoreBusyDuringDecision(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	id := fc.start(t, faultApproval, 2)
	fc.waitNode(t, id, "review", engine.NodeWaiting)

	lock := fc.lockStore(t)
	decided := make(chan error, 1)
	go func() {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		decided <- fc.eng.Decide(dctx, id, "review", engine.Decision{Outcome: "approve", Data: map[string]any{"amount": 9},
			By: "bob", Groups: []string{"finance"}})
	}()
	fc.waitRetrying(t, id, "approval.decided")
	if task, err := fc.db.GetTaskByNode(ctx, id, "review"); err != nil || task.State != store.TaskOpen {
		t.Fatalf("the task while the store is locked: %+v, %v; want still open", task, err)
	}
	select {
	case err := <-decided:
		t.Fatalf("the decision returned (%v) before it was recorded in the store", err)
	default:
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-decided; err != nil {
		t.Fatalf("decide: %v", err)
	}
	if out := fmt.Sprint(fc.result(t, id)); out != "map[pay:paid 9]" {
		t.Fatalf("run ended with %s", out)
	}
	if task, err := fc.db.GetTaskByNode(ctx, id, "review"); err != nil || task.State != store.TaskDone || task.Decision == nil ||
		task.Decision.DecidedBy != "bob" || string(task.Decision.Data) != `{"amount":9}` {
		t.Fatalf("task after the lock: %+v, %v", task, err)
	}
	if n := fc.mostAttempts(t, id); n < 2 {
		t.Fatalf("no activity of the run was retried (most attempts %d)", n)
	}
}

// lockStore holds the store's file in an exclusive transaction from another connection (as
// a backup or a CLI command might) until the test rolls it back or ends.
func (fc *faultCluster) lockStore(t *testing.T) *sql.Tx {
	t.Helper()
	ctx := context.Background()
	lockDB, err := sql.Open("sqlite3", filepath.Join(fc.dbDir, "trellis.db")+"?_txlock=exclusive&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lockDB.Close() })
	lock, err := lockDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("lock the store: %v", err)
	}
	t.Cleanup(func() { _ = lock.Rollback() })
	// A write makes sure the lock is held, whatever the journal mode makes of BEGIN.
	if _, err := lock.ExecContext(ctx, "CREATE TABLE fault_lock (x)"); err != nil {
		t.Fatalf("write under the lock: %v", err)
	}
	return lock
}

// waitRetrying waits until the run's pending activity name has failed and is being retried.
func (fc *faultCluster) waitRetrying(t *testing.T, id, name string) {
	t.Helper()
	waitFor(t, name+" has failed on the locked store and is being retried", func() (bool, string) {
		d, err := fc.c.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			return false, err.Error()
		}
		for _, pa := range d.PendingActivities {
			if pa.GetActivityType().GetName() == name {
				return pa.GetAttempt() >= 2 && pa.GetLastFailure() != nil, fmt.Sprintf("attempt %d, failure %v", pa.GetAttempt(), pa.GetLastFailure())
			}
		}
		return false, name + " not pending"
	})
}

// mostAttempts is the highest attempt of any activity in the run's history: the history
// says an activity was retried, not only that the fault never hit it.
func (fc *faultCluster) mostAttempts(t *testing.T, id string) int32 {
	t.Helper()
	it := fc.c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	attempts := int32(0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			attempts = max(attempts, a.GetAttempt())
		}
	}
	return attempts
}
