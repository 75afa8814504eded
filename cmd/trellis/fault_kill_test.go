package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// faultRetry lets an attempt that died with serve be tried again soon after the restart:
// the attempt's timeout is what tells Temporal it is lost.
var faultRetry = map[string]any{"max_attempts": 20, "initial_interval": "1s", "max_interval": "2s"}

// faultApprovalGraph asks the demo reviewer, then says what was checked.
var faultApprovalGraph = map[string]any{"format": "trellis.graph/v1",
	"nodes": []any{
		map[string]any{"id": "review", "kind": "approval", "config": map[string]any{"title": "Check {{ input.n }}", "assignee": "user:reviewer"}},
		map[string]any{"id": "done", "kind": "transform", "config": map[string]any{"value": "'checked ' + string(input.n)"}}},
	"edges": []any{map[string]any{"from": "review", "to": "done", "port": "approve"}}}

// faultRig is one data dir, its serve (replaced at each restart), the tokens and the web
// service the runs call.
type faultRig struct {
	bin, data string
	s         *killableServe
	svc       *faultService
	svcURL    string
	ana, rev  string    // tokens of the demo analyst and reviewer
	killedAt  time.Time // when serve was last killed
}

// tokens creates fresh API tokens for the demo analyst and reviewer.
func (r *faultRig) tokens(t *testing.T) {
	t.Helper()
	for _, u := range []struct {
		name string
		to   *string
	}{{"analyst", &r.ana}, {"reviewer", &r.rev}} {
		code, out, errOut := runCLI(t, "", "token", "create", u.name, "--data", r.data)
		if code != 0 {
			t.Fatalf("token create %s: %s", u.name, errOut)
		}
		*u.to = strings.TrimSpace(out)
	}
}

// restart kills serve -9 (unless it is dead already), runs whileDown, checks both SQLite
// files while serve is down, and starts it again on the same data dir.
func (r *faultRig) restart(t *testing.T, whileDown func()) {
	t.Helper()
	if r.s.cmd.ProcessState == nil {
		r.s.kill(t)
		r.killedAt = time.Now()
	}
	if whileDown != nil {
		whileDown()
	}
	checkIntegrity(t, r.data)
	r.s = startKillableServe(t, r.bin, r.data)
}

// TestFaultKillServe kills `trellis serve` -9 at the worst moments issue 18 names, twice,
// each time with several runs brought to their moment at once, and checks after each
// restart that every run completes, no decision is lost or applied twice, `trellis doctor`
// finds the store and the runs agreeing, and both SQLite files pass integrity_check.
//
// First kill: (a) an http node's request in flight, (b) a wait pending, (c) an approval
// task open, (f) a map with some items done and the others in flight, and a loop in its
// second round. Second kill, with the store's file held locked by the test: (d) a
// reviewer's decision taken by the run but not yet closed in the store, and (e) a publish
// in flight.
func TestFaultKillServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds trellis and starts the embedded Temporal server three times")
	}
	r := &faultRig{bin: trellisBinary(t), data: t.TempDir()}
	r.svc = newFaultService(func(path string) bool {
		return path == "/a" || path == "/round/2" || slices.Contains([]string{"/map/3", "/map/4", "/map/5"}, path)
	})
	// Closed by a cleanup, after serve's (which lets held requests go) has killed serve.
	r.svcURL = testsvc.New(t, r.svc).URL
	r.s = startKillableServe(t, r.bin, r.data)
	r.tokens(t)
	// serve keeps ended runs for --run-retention (30 days by default), not Temporal's day.
	ns, err := r.s.temporal(t, r.data).WorkflowService().DescribeNamespace(context.Background(),
		&workflowservice.DescribeNamespaceRequest{Namespace: engine.Namespace})
	if err != nil || ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != engine.DefaultRetention {
		t.Fatalf("the namespace's retention = %v (%v), want %s", ns.GetConfig().GetWorkflowExecutionRetentionTtl(), err, engine.DefaultRetention)
	}

	// Bring each run to its moment; each check runs after the restart.
	checks := []func(){
		faultHTTPInFlight(t, r),
		faultApprovalOpen(t, r),
		faultMapAndLoop(t, r),
		faultWaitPending(t, r), // last: its timer runs from now
	}
	for _, path := range []string{"/a", "/map/3", "/map/4", "/map/5", "/round/2"} {
		if r.svc.heldAt(path) == 0 { // an attempt timed out meanwhile (the machine is slow)
			t.Fatalf("the request to %s is not in flight at the kill: %v", path, r.svc.callsTo(path))
		}
	}
	r.restart(t, r.svc.crash)
	for _, check := range checks {
		check()
	}
	r.s.doctorHealthy(t, r.data)

	// Second kill, with the store locked: a decision and a publish in flight.
	checkDecision := faultDecisionNotClosed(t, r)
	r.restart(t, nil)
	checkDecision()
	r.s.doctorHealthy(t, r.data)

	if err := r.s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = r.s.cmd.Wait()
	checkIntegrity(t, r.data)
}

// (a) An http node's request is held by the service when serve dies. After the restart
// the attempt is given up as lost and tried again, with the same Idempotency-Key, and the
// run completes with the answer.
func faultHTTPInFlight(t *testing.T, r *faultRig) func() {
	t.Helper()
	doc := map[string]any{"format": "trellis.graph/v1", "nodes": []any{map[string]any{"id": "call", "kind": "http",
		"timeout": "30s", "retry": faultRetry, "config": map[string]any{"method": "POST", "url": r.svcURL + "/a", "body": map[string]any{"n": 1}}}},
		"edges": []any{}}
	g := r.s.publishGraph(t, r.ana, "Fault http", doc)
	id := r.s.startRun(t, r.ana, g, map[string]any{})
	waitUntil(t, "(a) the request is held", func() (bool, string) {
		return r.svc.heldAt("/a") > 0, fmt.Sprint(r.svc.callsTo("/a"))
	})
	return func() {
		t.Helper()
		run := r.s.waitEnded(t, r.ana, id)
		if run["status"] != "completed" || fmt.Sprint(field(nodeOf(run, "call")["output"], "body")) != "map[path:/a]" {
			t.Errorf("(a) run = %v", run)
		}
		calls := r.svc.callsTo("/a")
		again := 0
		for _, c := range calls {
			if c.Key != id+"/call" {
				t.Errorf("(a) Idempotency-Key = %q, want %q (calls %v)", c.Key, id+"/call", calls)
			}
			if c.AfterCrash {
				again++
			}
		}
		if again == 0 {
			t.Errorf("(a) the request was not sent again after the restart: %v", calls)
		}
		t.Logf("(a) requests: %v", calls)
	}
}

// (b) A wait is pending when serve dies. Its timer is not restarted: the run completes when
// the wait that started before the crash ends.
func faultWaitPending(t *testing.T, r *faultRig) func() {
	t.Helper()
	doc := map[string]any{"format": "trellis.graph/v1", "nodes": []any{
		map[string]any{"id": "pause", "kind": "wait", "config": map[string]any{"duration": "30s"}},
		map[string]any{"id": "after", "kind": "transform", "config": map[string]any{"value": "'woke'"}}},
		"edges": []any{map[string]any{"from": "pause", "to": "after"}}}
	g := r.s.publishGraph(t, r.ana, "Fault wait", doc)
	id := r.s.startRun(t, r.ana, g, map[string]any{})
	r.s.waitRunState(t, r.ana, id, "(b) the wait is pending", func(run map[string]any) bool {
		return nodeOf(run, "pause")["status"] == "running" || nodeOf(run, "pause")["status"] == "waiting"
	})
	return func() {
		t.Helper()
		run := r.s.waitEnded(t, r.ana, id)
		pause := nodeOf(run, "pause")
		started, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(pause["started_at"]))
		until, err := time.Parse(time.RFC3339Nano, fmt.Sprint(field(pause["output"], "waited_until")))
		if run["status"] != "completed" || nodeOf(run, "after")["output"] != "woke" || err != nil {
			t.Fatalf("(b) run = %v", run)
		}
		if !until.After(r.killedAt) {
			t.Fatalf("(b) the wait ended at %s, before serve was killed at %s: the test did not kill it pending", until, r.killedAt)
		}
		if d := until.Sub(started); d < 29*time.Second || d > 31*time.Second {
			t.Errorf("(b) the wait ran from %s until %s: the timer was not the one started before the crash", started, until)
		}
	}
}

// openTask waits until the run's task at node is open in the reviewer's inbox and answers
// its id.
func openTask(t *testing.T, r *faultRig, runID, node string) string {
	t.Helper()
	var id string
	waitUntil(t, "the task of "+runID+"/"+node+" is open", func() (bool, string) {
		code, out := r.s.get(t, r.rev, "/tasks?state=open&mine=true")
		list, _ := out.([]any)
		for _, x := range list {
			if task, _ := x.(map[string]any); task["run_id"] == runID && task["node"] == node {
				id, _ = task["id"].(string)
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d %v", code, out)
	})
	r.s.waitRunState(t, r.ana, runID, "node "+node+" waits", func(run map[string]any) bool {
		return nodeOf(run, node)["status"] == "waiting"
	})
	return id
}

// decidedOnce checks a task ended decided with outcome by by, with one decision in its
// history, and that deciding it again is refused.
func decidedOnce(t *testing.T, r *faultRig, what, taskID, outcome, by string) {
	t.Helper()
	code, out := r.s.get(t, r.rev, "/tasks/"+taskID)
	task, _ := out.(map[string]any)
	if code != http.StatusOK || task["state"] != store.TaskDone || task["outcome"] != outcome || task["decided_by"] != by {
		t.Errorf("%s: task = %d %v", what, code, out)
	}
	decided := 0
	history, _ := task["history"].([]any)
	for _, e := range history {
		if ev, _ := e.(map[string]any); ev["kind"] == store.TaskEventDecided {
			decided++
		}
	}
	if decided != 1 {
		t.Errorf("%s: %d decisions in the task's history, want 1: %v", what, decided, history)
	}
	if code, out := r.s.call(t, r.rev, http.MethodPost, "/tasks/"+taskID+"/decision", map[string]any{"outcome": "approve"}); code != http.StatusConflict {
		t.Errorf("%s: deciding again = %d %v, want 409", what, code, out)
	}
}

// (c) An approval task is open when serve dies: after the restart the same task is in the
// reviewer's inbox, deciding it completes the run, and only once.
func faultApprovalOpen(t *testing.T, r *faultRig) func() {
	t.Helper()
	g := r.s.publishGraph(t, r.ana, "Fault approval", faultApprovalGraph)
	id := r.s.startRun(t, r.ana, g, map[string]any{"n": 5})
	task := openTask(t, r, id, "review")
	return func() {
		t.Helper()
		if again := openTask(t, r, id, "review"); again != task {
			t.Fatalf("(c) after the restart the inbox has task %s, want %s", again, task)
		}
		r.s.must(t, r.rev, http.MethodPost, "/tasks/"+task+"/decision", map[string]any{"outcome": "approve", "comment": "after the crash"}, http.StatusOK)
		run := r.s.waitEnded(t, r.ana, id)
		if run["status"] != "completed" || nodeOf(run, "done")["output"] != "checked 5" || nodeOf(run, "done")["attempts"] != float64(1) {
			t.Errorf("(c) run = %v", run)
		}
		decidedOnce(t, r, "(c)", task, "approve", "reviewer")
	}
}

// (f) A map with three items done and three in flight, and a loop whose first round is
// done and whose second is in flight, when serve dies. After the restart all items and
// rounds complete, and none that had finished is called again.
func faultMapAndLoop(t *testing.T, r *faultRig) func() {
	t.Helper()
	body := map[string]any{"kind": "http", "timeout": "30s", "retry": faultRetry,
		"config": map[string]any{"url": r.svcURL + "/map/{{ item }}"}}
	doc := map[string]any{"format": "trellis.graph/v1", "nodes": []any{map[string]any{"id": "each", "kind": "map",
		"config": map[string]any{"items": "input.items", "concurrency": 6, "node": body}}}, "edges": []any{}}
	mapGraph := r.s.publishGraph(t, r.ana, "Fault map", doc)
	round := map[string]any{"format": "trellis.graph/v1", "nodes": []any{map[string]any{"id": "call", "kind": "http",
		"timeout": "30s", "retry": faultRetry, "config": map[string]any{"url": r.svcURL + "/round/{{ input.iteration }}"}}},
		"edges": []any{}}
	roundGraph := r.s.publishGraph(t, r.ana, "Fault round", round)
	loop := map[string]any{"format": "trellis.graph/v1", "nodes": []any{map[string]any{"id": "rounds", "kind": "loop",
		"config": map[string]any{"graph": roundGraph, "version": 1, "init": "0", "until": "iteration >= 3", "max_iterations": 5}}},
		"edges": []any{}}
	loopGraph := r.s.publishGraph(t, r.ana, "Fault loop", loop)

	mapRun := r.s.startRun(t, r.ana, mapGraph, map[string]any{"items": []any{0, 1, 2, 3, 4, 5}})
	loopRun := r.s.startRun(t, r.ana, loopGraph, map[string]any{})
	r.s.waitRunState(t, r.ana, mapRun, "(f) three items done, three held", func(run map[string]any) bool {
		items, _ := nodeOf(run, "each")["items"].(map[string]any)
		return items != nil && items["completed"] == float64(3) &&
			r.svc.heldAt("/map/3") > 0 && r.svc.heldAt("/map/4") > 0 && r.svc.heldAt("/map/5") > 0
	})
	r.s.waitRunState(t, r.ana, loopRun, "(f) the loop's second round is held", func(run map[string]any) bool {
		rounds, _ := nodeOf(run, "rounds")["rounds"].(map[string]any)
		return rounds != nil && rounds["iteration"] == float64(2) && r.svc.heldAt("/round/2") > 0
	})
	return func() {
		t.Helper()
		run := r.s.waitEnded(t, r.ana, mapRun)
		out, _ := json.Marshal(nodeOf(run, "each")["output"])
		if run["status"] != "completed" || !itemsInOrder(out) {
			t.Errorf("(f) map run = %v", run)
		}
		for i := range 6 {
			calls := r.svc.callsTo(fmt.Sprintf("/map/%d", i))
			if i < 3 && len(calls) != 1 {
				t.Errorf("(f) item %d, done before the crash, was called %d times: %v", i, len(calls), calls)
			}
			if i >= 3 && (len(calls) == 0 || !calls[len(calls)-1].AfterCrash) {
				t.Errorf("(f) item %d, in flight at the crash, was not called again after it: %v", i, calls)
			}
		}
		run = r.s.waitEnded(t, r.ana, loopRun)
		lout, _ := nodeOf(run, "rounds")["output"].(map[string]any)
		if run["status"] != "completed" || lout["iterations"] != float64(3) {
			t.Errorf("(f) loop run = %v", run)
		}
		for i, want := range map[int]string{1: "once", 2: "again", 3: "once"} {
			calls := r.svc.callsTo(fmt.Sprintf("/round/%d", i))
			if (want == "once" && len(calls) != 1) || (want == "again" && (len(calls) < 2 || !calls[len(calls)-1].AfterCrash)) {
				t.Errorf("(f) round %d was called %v, want %s", i, calls, want)
			}
		}
	}
}

// field is v's member name when v is a JSON object, else nil.
func field(v any, name string) any {
	o, _ := v.(map[string]any)
	return o[name]
}

// itemsInOrder says the map's output lists items 0 to 5, in order, each with its answer.
func itemsInOrder(out []byte) bool {
	var o struct {
		Completed, Failed int
		Items             []struct {
			Body struct{ Path string } `json:"body"`
		} `json:"items"`
	}
	if json.Unmarshal(out, &o) != nil || o.Completed != 6 || o.Failed != 0 || len(o.Items) != 6 {
		return false
	}
	for i, it := range o.Items {
		if it.Body.Path != fmt.Sprintf("/map/%d", i) {
			return false
		}
	}
	return true
}

// lockStoreFile holds the store's file in an exclusive transaction from the test (as a
// backup or a CLI command might): serve's writes wait, then fail and are retried; its
// reads go on (WAL).
func lockStoreFile(t *testing.T, data string) *sql.Tx {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(data, store.DBFileName)+"?_txlock=exclusive&_busy_timeout=30000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatalf("lock the store: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	// A write makes sure the lock is held, whatever the journal mode makes of BEGIN.
	if _, err := tx.Exec("CREATE TABLE fault_lock (x)"); err != nil {
		t.Fatalf("write under the lock: %v", err)
	}
	return tx
}

// inFlight is an API request sent in the background: wrote is closed once the request
// is on the wire, done once it answered (or failed).
type inFlight struct {
	wrote, done chan struct{}
	code        int
	err         error
}

func (s *killableServe) send(token, method, path string, body any) *inFlight {
	f := &inFlight{wrote: make(chan struct{}), done: make(chan struct{})}
	b, _ := json.Marshal(body)
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(f.wrote) }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, s.url+"/api/v1"+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	go func() {
		defer close(f.done)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.err = err
			return
		}
		f.code = resp.StatusCode
		resp.Body.Close()
	}()
	return f
}

func (f *inFlight) answered() bool {
	select {
	case <-f.done:
		return f.err == nil
	default:
		return false
	}
}

// (d) and (e), with the store held locked by the test: a reviewer decides through the
// API, and the run takes the decision (its node stops waiting) but cannot close the task in
// the store (the closing activity fails on the lock and waits to be retried); a publish is
// sent and waits to write. Serve is killed -9 with both requests in
// flight, then the lock is let go. After the restart the decision is applied exactly once
// and the task ends decided with its outcome and reviewer; the graph has the whole new
// version or none, and publishing again works.
func faultDecisionNotClosed(t *testing.T, r *faultRig) func() {
	t.Helper()
	g := r.s.publishGraph(t, r.ana, "Fault decision", faultApprovalGraph)
	runID := r.s.startRun(t, r.ana, g, map[string]any{"n": 7})
	task := openTask(t, r, runID, "review")
	draft := map[string]any{"format": "trellis.graph/v1", "nodes": []any{map[string]any{"id": "only", "kind": "transform",
		"config": map[string]any{"value": "'published'"}}}, "edges": []any{}}
	pg := r.s.must(t, r.ana, http.MethodPost, "/graphs", map[string]any{"name": "Fault publish", "definition": draft}, http.StatusCreated)
	pubGraph, _ := pg["id"].(string)

	// Fresh tokens, used once now: a token's use is recorded (a write) at most once a
	// minute, and the requests below under the lock must not need to.
	r.tokens(t)
	r.s.must(t, r.ana, http.MethodGet, "/graphs/"+pubGraph, nil, http.StatusOK)
	r.s.must(t, r.rev, http.MethodGet, "/tasks/"+task, nil, http.StatusOK)
	lock := lockStoreFile(t, r.data)
	decide := r.s.send(r.rev, http.MethodPost, "/tasks/"+task+"/decision", map[string]any{"outcome": "reject", "comment": "locked out"})
	r.s.waitRunState(t, r.ana, runID, "(d) the run took the decision", func(run map[string]any) bool {
		return nodeOf(run, "review")["status"] == "running"
	})
	// The run closes the task in the store before it answers: that write fails on the lock.
	waitRetrying(t, r.s.temporal(t, r.data), runID, "approval.decided")
	if code, out := r.s.get(t, r.rev, "/tasks/"+task); code != http.StatusOK || field(out, "state") != store.TaskOpen {
		t.Fatalf("(d) the task while the store is locked = %d %v, want still open", code, out)
	}
	publish := r.s.send(r.ana, http.MethodPost, "/graphs/"+pubGraph+"/versions", map[string]any{"note": "during the crash"})
	select {
	case <-publish.wrote:
	case <-time.After(90 * time.Second):
		t.Fatal("(e) the publish request was never sent")
	}
	// The publish reads the draft (reads go on under the lock) and then waits for the
	// write lock, for up to the store's busy timeout (5 s). Give the reads a moment.
	time.Sleep(time.Second)
	if decide.answered() || publish.answered() {
		t.Fatalf("(d)/(e) a request answered before the kill: decision %d, publish %d", decide.code, publish.code)
	}
	r.s.kill(t)
	r.killedAt = time.Now()
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	<-decide.done
	<-publish.done
	if decide.err == nil || publish.err == nil {
		t.Fatalf("(d)/(e) a request answered before the kill: decision %d, publish %d", decide.code, publish.code)
	}
	// the caller restarts serve; then:
	return func() {
		t.Helper()
		// The reviewer, whose request failed, decides again at once, maybe before the task
		// is closed: the run still has the first decision, and refuses this one.
		if code, out := r.s.call(t, r.rev, http.MethodPost, "/tasks/"+task+"/decision",
			map[string]any{"outcome": "approve", "comment": "again"}); code != http.StatusConflict {
			t.Errorf("(d) deciding again after the restart = %d %v, want 409", code, out)
		} else {
			t.Logf("(d) deciding again after the restart: %v", out)
		}
		run := r.s.waitEnded(t, r.ana, runID)
		review := nodeOf(run, "review")
		rout, _ := review["output"].(map[string]any)
		if run["status"] != "completed" || rout["outcome"] != "reject" || rout["decided_by"] != "reviewer" ||
			rout["comment"] != "locked out" || nodeOf(run, "done")["status"] != "skipped" {
			t.Errorf("(d) run = %v", run)
		}
		decidedOnce(t, r, "(d)", task, "reject", "reviewer")
		faultPublishWhole(t, r, pubGraph, draft)
	}
}

// faultPublishWhole checks (e) after the restart: the graph has either the whole version
// or none, and publishing again works, and runs.
func faultPublishWhole(t *testing.T, r *faultRig, graph string, draft map[string]any) {
	t.Helper()
	gr := r.s.must(t, r.ana, http.MethodGet, "/graphs/"+graph, nil, http.StatusOK)
	versions, _ := gr["versions"].([]any)
	next, output := 1, "published"
	t.Logf("(e) versions after the crash: %d", len(versions))
	switch len(versions) {
	case 0:
	case 1:
		v := r.s.must(t, r.ana, http.MethodGet, "/graphs/"+graph+"/versions/1", nil, http.StatusOK)
		got, _ := json.Marshal(v["nodes"])
		want, _ := json.Marshal(draft["nodes"])
		if hash, _ := field(versions[0], "hash").(string); string(got) != string(want) || hash == "" {
			t.Fatalf("(e) version 1 after the crash = %v, want the draft's nodes %s", v, want)
		}
		r.s.must(t, r.ana, http.MethodPost, "/graphs/"+graph+"/versions", map[string]any{"note": "same"}, http.StatusConflict)
		draft["nodes"] = []any{map[string]any{"id": "only", "kind": "transform", "config": map[string]any{"value": "'published again'"}}}
		r.s.must(t, r.ana, http.MethodPut, "/graphs/"+graph+"/draft", draft, http.StatusOK)
		next, output = 2, "published again"
	default:
		t.Fatalf("(e) %d versions after one publish: %v", len(versions), versions)
	}
	v := r.s.must(t, r.ana, http.MethodPost, "/graphs/"+graph+"/versions", map[string]any{"note": "after the crash"}, http.StatusCreated)
	if v["version"] != float64(next) {
		t.Fatalf("(e) publishing after the crash made %v, want version %d", v, next)
	}
	id := r.s.startRun(t, r.ana, graph, map[string]any{})
	if run := r.s.waitEnded(t, r.ana, id); run["status"] != "completed" || nodeOf(run, "only")["output"] != output {
		t.Errorf("(e) run of the new version = %v", run)
	}
}
