package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"trellis/engine"
)

// The load and restart benchmarks of issue 18, on `trellis serve` as a process of its own,
// driven only through the JSON API (docs/api.md) as people and their scripts drive it:
//
//	load200_*          200 runs with an approval, started by 20 callers, decided by 20
//	                   reviewers listing their tasks and deciding them
//	restart1000_*      1,000 runs waiting (half on a wait node, half on an approval) across a
//	                   SIGTERM and a start of serve on the same data dir
//	waiting10k_rss_mb, restart10k_*   the same with 10,000 runs all waiting for people
//	                   (make bench-scale only: TRELLIS_BENCH_SCALE=1)

// loadApproval is a run with a human step: the task goes to the group the input names.
const loadApproval = `{"format": "trellis.graph/v1", "name": "Load approval", "nodes": [
	{"id": "ask", "kind": "approval", "config": {"title": "Approve {{ input.n }}", "assignee": "group:{{ input.group }}"}},
	{"id": "done", "kind": "transform", "config": {"value": "'approved ' + string(input.n)"}}],
  "edges": [{"from": "ask", "to": "done", "port": "approve"}]}`

// loadWait is a run that waits until the time its input gives.
const loadWait = `{"format": "trellis.graph/v1", "name": "Load wait", "nodes": [
	{"id": "pause", "kind": "wait", "config": {"until": "input.at"}},
	{"id": "done", "kind": "transform", "config": {"value": "'woke ' + string(input.n)"}}],
  "edges": [{"from": "pause", "to": "done"}]}`

// benchReviewerCount is how many reviewers decide at once, each through its own token.
const benchReviewerCount = 20

// reviewerPool is the reviewers deciding tasks concurrently through the API.
type reviewerPool struct {
	wants []atomic.Int64 // how many tasks reviewer i is to decide
	mu    sync.Mutex
	lat   []time.Duration // each accepted decision: request until its answer
	wg    sync.WaitGroup
}

// startReviewers has reviewer i (tokens[i]) decide, as soon as they appear, the open tasks
// of its group until it has decided wants(i) of them or ctx ends. Each decision is timed
// from the request until its 200: the answer waits until the run has recorded the decision
// (the "decide" workflow update) and closed the task in the store (an activity of the run),
// then reads the task back (actions.Decide, engine.Decide, engine/kind_approval.go decide).
func startReviewers(ctx context.Context, errs *errTally, base string, tokens []string, wants func(i int) int) *reviewerPool {
	p := &reviewerPool{wants: make([]atomic.Int64, len(tokens))}
	for i, token := range tokens {
		p.wants[i].Store(int64(wants(i)))
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.review(ctx, errs, base, token, &p.wants[i])
		}()
	}
	return p
}

// review is one reviewer's loop: list my open tasks, decide each, again, until it has seen
// its share of tasks and none is left open. A refused decision counts as an error; the task
// is tried again while it stays open (a decision that timed out may still have been taken),
// at most decideAttempts times, so that a run is not left waiting for the wrong reason.
func (p *reviewerPool) review(ctx context.Context, errs *errTally, base, token string, want *atomic.Int64) {
	tries := map[string]int{}
	for ctx.Err() == nil {
		var tasks []struct {
			ID string `json:"id"`
		}
		if !apiDo(errs, base, token, http.MethodGet, "/tasks?state=open&limit=200", nil, http.StatusOK, &tasks) {
			sleepCtx(ctx, time.Second)
			continue
		}
		fresh := 0
		for _, t := range tasks {
			if tries[t.ID] >= decideAttempts || ctx.Err() != nil {
				continue
			}
			tries[t.ID]++
			fresh++
			t0 := time.Now()
			if apiDo(errs, base, token, http.MethodPost, "/tasks/"+url.PathEscape(t.ID)+"/decision",
				map[string]any{"outcome": "approve"}, http.StatusOK, nil) {
				d := time.Since(t0)
				p.mu.Lock()
				p.lat = append(p.lat, d)
				p.mu.Unlock()
			}
		}
		if fresh == 0 {
			if int64(len(tries)) >= want.Load() {
				return
			}
			sleepCtx(ctx, 100*time.Millisecond)
		}
	}
}

// decideAttempts is how often a reviewer tries a task that stays open.
const decideAttempts = 3

// wait waits until every reviewer has decided its share (or ctx ended) and answers the
// decisions' latencies.
func (p *reviewerPool) wait() []time.Duration {
	p.wg.Wait()
	return p.lat
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// sharesOf counts the runs of ids (those that started) per reviewer, run i going to
// reviewer i % reviewers.
func sharesOf(ids []string, reviewers int) []int {
	n := make([]int, reviewers)
	for i, id := range ids {
		if id != "" {
			n[i%reviewers]++
		}
	}
	return n
}

// BenchmarkLoad200: 200 runs with an approval, started by 20 concurrent callers while 20
// reviewers (each a user with a token, alone in the group its tasks go to) list and decide
// their tasks. runs/s is 200 over the time from the first start until the last run ended;
// errors are answers other than the expected 2xx, plus runs that did not complete.
func BenchmarkLoad200(b *testing.B) {
	const runs = 200
	data := benchDataDir(b)
	analyst := benchUser(b, data, "ana", "analyst", "")
	tokens := benchReviewers(b, data, benchReviewerCount)
	s := startBenchServe(b, data, freeAddr(b))
	defer s.stop(b)
	graph := benchPublish(b, s.url, analyst, loadApproval)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var errs errTally
	b.ResetTimer()
	t0 := time.Now()
	pool := startReviewers(ctx, &errs, s.url, tokens, func(i int) int { return (runs + benchReviewerCount - 1 - i) / benchReviewerCount })
	ids := startRuns(&errs, s.url, analyst, graph, runs, benchReviewerCount, func(i int) map[string]any {
		return map[string]any{"n": i, "group": benchGroup(i % benchReviewerCount)}
	})
	for i, n := range sharesOf(ids, benchReviewerCount) { // starts that failed leave no task
		pool.wants[i].Store(int64(n))
	}
	lat := pool.wait()
	rows := waitRunsEnded(b, s.url, analyst, []string{graph}, ids, 5*time.Minute)
	b.StopTimer()
	checkCompleted(&errs, ids, rows)

	b.ReportMetric(runs/lastEnd(rows).Sub(t0).Seconds(), "runs/s")
	b.ReportMetric(percentileMS(lat, 0.5), "decision_p50_ms_ms")
	b.ReportMetric(percentileMS(lat, 0.99), "decision_p99_ms_ms")
	b.ReportMetric(float64(errs.count()), "errors")
	if errs.count() > 0 {
		b.Fatalf("load200: %s\n(%d of %d runs ended; decision p50 %.0f ms, p99 %.0f ms)\nserve's log:\n%s", &errs,
			len(rows), runs, percentileMS(lat, 0.5), percentileMS(lat, 0.99), s.logTail())
	}
}

// restartFigures are what a restart benchmark measures.
type restartFigures struct {
	rssMB   float64 // serve's VmRSS with every run waiting, before the restart
	readyS  float64 // the new serve's start until /healthz answers
	resumeS float64 // the new serve's start until every run has ended (with a sample: every sampled run)
	drainS  float64 // with a sample: the new serve's start until every run has ended
}

// BenchmarkRestart1000: 1,000 runs wait across a restart of the serve process (SIGTERM,
// then a new serve on the same data dir): 500 on an approval, 500 on a wait node whose
// time comes while serve is down, so that its timer fires once serve is back. resume_s is
// from the new process's start until all 1,000 have ended, with 20 reviewers deciding the
// approvals through the API from the moment /healthz answers.
func BenchmarkRestart1000(b *testing.B) {
	f := restartBench(b, 500, 500, 0)
	b.ReportMetric(f.resumeS, "resume_s_s")
	b.ReportMetric(f.readyS, "ready_s_s")
	b.ReportMetric(f.rssMB, "waiting_rss_mb_mb")
}

// restart10k is the 10,000-run restart, measured once for the two benchmarks that report
// it (their names make the figures' names: waiting10k_rss_mb, restart10k_resume_s).
var restart10k struct {
	once sync.Once
	f    restartFigures
	ok   bool
}

func restart10kFigures(b *testing.B) restartFigures {
	if os.Getenv("TRELLIS_BENCH_SCALE") == "" {
		b.Skip("make bench-scale runs this (TRELLIS_BENCH_SCALE=1)")
	}
	restart10k.once.Do(func() {
		n := 10000
		if v := os.Getenv("TRELLIS_SCALE_WAITING"); v != "" { // a smaller trial of the same
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 50 {
				b.Fatalf("TRELLIS_SCALE_WAITING=%q: want a number of runs, at least 50", v)
			}
		}
		restart10k.f = restartBench(b, n, 0, n/50)
		restart10k.ok = true
	})
	if !restart10k.ok {
		b.Fatal("the 10,000-run restart failed (see the benchmark that ran it first)")
	}
	return restart10k.f
}

// BenchmarkWaiting10k: the resident memory of serve holding 10,000 runs that wait for people
// (the goal: under 1,024 MB).
func BenchmarkWaiting10k(b *testing.B) {
	b.ReportMetric(restart10kFigures(b).rssMB, "rss_mb_mb")
}

// BenchmarkRestart10k: those 10,000 runs across a restart of serve. The goal (under 60 s)
// is until all "can be decided and move on": nothing about a run's resumption differs from
// another's (after a restart each is read back from its history when its decision comes),
// so resume_s is until a sample of 200, every 50th run, has been decided and has ended,
// from the new process's start. drain_s is until 20 reviewers have decided all 10,000 and
// all have ended, a figure of throughput more than of resumption.
func BenchmarkRestart10k(b *testing.B) {
	f := restart10kFigures(b)
	b.ReportMetric(f.resumeS, "resume_s_s")
	b.ReportMetric(f.readyS, "ready_s_s")
	b.ReportMetric(f.drainS, "drain_s_s")
}

// restartBench starts `approvals` runs waiting on a task and `waits` on a wait node, waits
// until all wait, restarts serve and measures until all have ended. With sample > 0, the
// tasks of that many approval runs, spread evenly, are decided first, and resume is until
// those have ended. Any error (a start or a decision refused, a run that did not complete or
// ended before the restart) fails it.
func restartBench(b *testing.B, approvals, waits, sample int) restartFigures {
	data := benchDataDir(b)
	analyst := benchUser(b, data, "ana", "analyst", "")
	tokens := benchReviewers(b, data, benchReviewerCount)
	addr := freeAddr(b)
	s1 := startBenchServe(b, data, addr)
	ag := benchPublish(b, s1.url, analyst, loadApproval)
	wg := benchPublish(b, s1.url, analyst, loadWait)
	var errs errTally
	fail := func(what string, s *benchServe) {
		if errs.count() > 0 {
			b.Fatalf("%s: %s\nserve's log:\n%s", what, &errs, s.logTail())
		}
	}

	t0 := time.Now()
	aIDs := startRuns(&errs, s1.url, analyst, ag, approvals, benchReviewerCount, func(i int) map[string]any {
		return map[string]any{"n": i, "group": benchGroup(i % benchReviewerCount)}
	})
	fail("starting the approval runs", s1)
	waitTasksOpen(b, s1.url, tokens, approvals, patience(approvals))
	// The wait runs' time: late enough that all of them are waiting and serve has been
	// stopped by then (their starts and first steps take less than the approvals' starts,
	// first steps and task activities took), so that the timers come due while serve is
	// down and fire the moment it is back.
	at := time.Now().Add(30*time.Second + time.Since(t0)*time.Duration(waits)/time.Duration(max(approvals, 1)))
	wIDs := startRuns(&errs, s1.url, analyst, wg, waits, benchReviewerCount, func(i int) map[string]any {
		return map[string]any{"n": i, "at": at.UTC().Format(time.RFC3339Nano)}
	})
	fail("starting the wait runs", s1)
	waitTimersSet(b, s1, data, wIDs)
	if waits > 0 && time.Until(at) < 5*time.Second {
		b.Fatalf("the wait runs took too long to start: their time (%s) comes before serve can be stopped", at.Format(time.TimeOnly))
	}
	sampled := sampleTasks(b, s1.url, tokens, sample)
	rss := s1.rssMB(b)
	s1.stop(b)
	if d := time.Until(at); waits > 0 && d > 0 {
		time.Sleep(d + time.Second) // not measured: the timers become due while serve is down
	}

	s2 := startBenchServe(b, data, addr)
	defer s2.stop(b)
	ctx, cancel := context.WithTimeout(context.Background(), patience(len(aIDs)+len(wIDs)))
	defer cancel()
	var sampleEnd time.Time
	if len(sampled) > 0 {
		sampleEnd = decideSample(b, &errs, s2.url, analyst, ag, tokens, sampled)
		fail("deciding the sample", s2)
	}
	shares := sharesOf(aIDs, benchReviewerCount)
	for _, t := range sampled {
		shares[t.reviewer]--
	}
	pool := startReviewers(ctx, &errs, s2.url, tokens, func(i int) int { return shares[i] })
	pool.wait()
	ids := append(aIDs, wIDs...)
	rows := waitRunsEnded(b, s2.url, analyst, []string{ag, wg}, ids, patience(len(ids)))
	checkCompleted(&errs, ids, rows)
	for id, r := range rows {
		if r.EndedAt.Before(s2.started) {
			errs.add("run %s ended at %s, before the restart", id, r.EndedAt.Format(time.RFC3339Nano))
		}
	}
	f := restartFigures{rssMB: rss, readyS: s2.ready.Sub(s2.started).Seconds(), resumeS: lastEnd(rows).Sub(s2.started).Seconds()}
	if len(sampled) > 0 {
		f.resumeS, f.drainS = sampleEnd.Sub(s2.started).Seconds(), f.resumeS
	}
	fail(fmt.Sprintf("restart of %d waiting runs (%+v, %d of them ended)", len(ids), f, len(rows)), s2)
	return f
}

// patience is how long a restart benchmark waits for n runs to reach a state: on a busy
// 2-core machine the embedded server got through a few of their workflow tasks a second.
func patience(n int) time.Duration { return 10*time.Minute + time.Duration(n)*300*time.Millisecond }

// waitTasksOpen waits until the reviewers' open tasks number want in all.
func waitTasksOpen(b *testing.B, base string, tokens []string, want int, limit time.Duration) {
	b.Helper()
	var last string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		n, err := countOpenTasks(base, tokens)
		if err == nil && n >= want {
			return
		}
		last = fmt.Sprintf("%d of %d tasks open (%v)", n, want, err)
	}
	b.Fatalf("gave up waiting for the tasks: %s", last)
}

// countOpenTasks is how many open tasks the reviewers see, all pages.
func countOpenTasks(base string, tokens []string) (int, error) {
	n := 0
	for _, token := range tokens {
		tasks, err := reviewerTasks(base, token)
		n += len(tasks)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// listedTask is a task as GET /tasks lists it, as far as the benchmarks read it.
type listedTask struct {
	ID    string `json:"id"`
	RunID string `json:"run_id"`
	Node  string `json:"node"`
}

// reviewerTasks lists the open tasks one reviewer sees, all pages, oldest first.
func reviewerTasks(base, token string) ([]listedTask, error) {
	var all []listedTask
	after := ""
	for {
		code, raw, h, err := apiCall(base, token, http.MethodGet, "/tasks?state=open&limit=200&after="+url.QueryEscape(after), nil)
		if err != nil {
			return all, err
		}
		if code != http.StatusOK {
			return all, fmt.Errorf("GET /tasks = %d: %s", code, raw)
		}
		var page []listedTask
		if err := json.Unmarshal(raw, &page); err != nil {
			return all, err
		}
		all = append(all, page...)
		if after = h.Get("X-Next-Cursor"); after == "" || len(page) == 0 {
			return all, nil
		}
	}
}

// waitTimersSet waits until each wait run has started its timer. It reads the runs'
// histories from serve's Temporal frontend (as trellis doctor does): GET /runs/{id} asks the
// run itself, which waits behind the backlog of workflow tasks this benchmark makes.
func waitTimersSet(b *testing.B, s *benchServe, data string, ids []string) {
	b.Helper()
	if len(ids) == 0 {
		return
	}
	tc, err := dialDoctor(context.Background(), &temporalFlags{address: s.frontend, namespace: engine.Namespace}, data)
	if err != nil {
		b.Fatal(err)
	}
	defer tc.Close()
	left := map[string]bool{}
	for _, id := range ids {
		if id != "" {
			left[id] = true
		}
	}
	var last string
	for deadline := time.Now().Add(patience(len(left))); len(left) > 0; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			b.Fatalf("gave up waiting until %d wait runs start their timers; last: %s", len(left), last)
		}
		for id := range left {
			set, err := timerStarted(tc, id)
			switch {
			case err != nil:
				last = err.Error()
			case set:
				delete(left, id)
			default:
				last = "run " + id + " has no timer yet"
			}
		}
	}
}

// timerStarted says whether the run's history holds a started timer.
func timerStarted(tc client.Client, runID string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it := tc.GetWorkflowHistory(ctx, runID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false, err
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
			return true, nil
		}
	}
	return false, nil
}

// sampledTask is an open task picked for the sample, with the reviewer whose group has it.
type sampledTask struct {
	id, run  string
	reviewer int
}

// sampleTasks picks n of the reviewers' open tasks, spread evenly over all of them in the
// order the API lists them (oldest first), each reviewer's in turn.
func sampleTasks(b *testing.B, base string, tokens []string, n int) []sampledTask {
	b.Helper()
	if n == 0 {
		return nil
	}
	var all []sampledTask
	for r, token := range tokens {
		tasks, err := reviewerTasks(base, token)
		if err != nil {
			b.Fatalf("listing tasks for the sample: %v", err)
		}
		for _, t := range tasks {
			all = append(all, sampledTask{id: t.ID, run: t.RunID, reviewer: r})
		}
	}
	if len(all) < n {
		b.Fatalf("%d tasks open, fewer than the sample of %d", len(all), n)
	}
	out := make([]sampledTask, 0, n)
	for i := range n {
		out = append(out, all[i*len(all)/n])
	}
	return out
}

// decideSample decides the sampled tasks, 20 at a time through their reviewers' tokens, as
// soon as serve answers, and answers when the last of their runs ended.
func decideSample(b *testing.B, errs *errTally, base, analyst, graph string, tokens []string, sample []sampledTask) time.Time {
	b.Helper()
	work := make(chan sampledTask)
	var wg sync.WaitGroup
	for range benchReviewerCount {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				for try := 1; ; try++ {
					if apiDo(errs, base, tokens[t.reviewer], http.MethodPost, "/tasks/"+url.PathEscape(t.id)+"/decision",
						map[string]any{"outcome": "approve"}, http.StatusOK, nil) || try == decideAttempts {
						break
					}
				}
			}
		}()
	}
	ids := make([]string, 0, len(sample))
	for _, t := range sample {
		work <- t
		ids = append(ids, t.run)
	}
	close(work)
	wg.Wait()
	return lastEnd(waitRunsEnded(b, base, analyst, []string{graph}, ids, patience(len(ids))))
}
