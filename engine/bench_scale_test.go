package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
	"trellis/store"
	"trellis/store/storetest"
)

// The benchmarks of `make bench-scale` (scripts/bench-scale): too slow for every `make
// bench`, so they run only with TRELLIS_BENCH_SCALE=1. Each reports a ratio against a
// baseline measured in the same run, so a busy machine slows both sides alike.

const handTenWorkflow = "BenchHandTenNode"

func scaleBench(b *testing.B) {
	b.Helper()
	if os.Getenv("TRELLIS_BENCH_SCALE") == "" {
		b.Skip("make bench-scale runs this (TRELLIS_BENCH_SCALE=1)")
	}
}

// scaleEnv is a positive integer from the environment, or def.
func scaleEnv(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// handTenNode is tenNodeGraph written by hand: the same activity with the same options for
// root and a1..a4 (the http activity, as a node with config {"url": url} sends it), and a
// local activity for each transform, as the interpreter runs them.
func handTenNode(ctx workflow.Context, url string) ([]string, error) {
	act := func(id string) workflow.Future {
		c := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ActivityID: id, StartToCloseTimeout: defaultTimeout,
			Summary: id, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: defaultAttempts,
				InitialInterval: defaultInitial, BackoffCoefficient: defaultBackoff, MaximumInterval: defaultMaxInterval}})
		return workflow.ExecuteActivity(c, activityHTTP, httpRequest{RunID: workflow.GetInfo(ctx).WorkflowExecution.ID,
			NodeID: id, Config: designer.HTTPConfig{URL: url}, Scope: map[string]any{}})
	}
	local := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{ScheduleToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	var res activityResult[any]
	if err := act("root").Get(ctx, &res); err != nil {
		return nil, err
	}
	futures := make([]workflow.Future, 4)
	for i := range futures {
		futures[i] = act(fmt.Sprintf("a%d", i+1))
	}
	// Each transform follows its own activity, as the interpreter schedules them.
	bang := func(_ context.Context, s string) (string, error) { return s + "!", nil }
	outs, errs := make([]string, 4), make([]error, 4)
	wg := workflow.NewWaitGroup(ctx)
	for i, f := range futures {
		wg.Add(1)
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			var r activityResult[any]
			if errs[i] = f.Get(gctx, &r); errs[i] == nil {
				out, _ := r.Output.(map[string]any)
				errs[i] = workflow.ExecuteLocalActivity(local, bang, fmt.Sprint(out["status"])).Get(gctx, &outs[i])
			}
		})
	}
	wg.Wait(ctx)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	join := func(_ context.Context, xs []string) ([]string, error) { return xs, nil }
	var joined []string
	err := workflow.ExecuteLocalActivity(local, join, outs).Get(ctx, &joined)
	return joined, err
}

// inParallel calls f for 0..n-1 on up to workers goroutines; the first error wins.
func inParallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// BenchmarkThroughput is throughput_ratio: runs per second of the 10-node graph through the
// interpreter, 8 concurrent starters, over the same for handTenNode on the same server and
// worker, in interleaved phases of TRELLIS_SCALE_PHASE runs (default 60), three each.
func BenchmarkThroughput(b *testing.B) {
	scaleBench(b)
	cl := startBenchCluster(b)
	cl.w.RegisterWorkflowWithOptions(handTenNode, workflow.RegisterOptions{Name: handTenWorkflow})
	ctx := context.Background()
	url := benchService(b)
	g := tenNodeGraph(url)
	interp := func(int) error {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "bench", Version: 1, Definition: g, StartedBy: "bench"})
		if err != nil {
			return err
		}
		var out any
		return cl.c.GetWorkflow(ctx, id, "").Get(ctx, &out)
	}
	hand := func(int) error {
		run, err := cl.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: DefaultTaskQueue}, handTenWorkflow, url)
		if err != nil {
			return err
		}
		var out []string
		if err := run.Get(ctx, &out); err != nil {
			return err
		}
		if strings.Join(out, ",") != "200!,200!,200!,200!" {
			return fmt.Errorf("hand-written run gave %v", out)
		}
		return nil
	}
	// Warm both paths (task queues, caches, compiled definition).
	if err := errors.Join(inParallel(8, 8, interp), inParallel(8, 8, hand)); err != nil {
		b.Fatal(err)
	}
	const starters, rounds = 8, 3
	phase := scaleEnv("TRELLIS_SCALE_PHASE", 60)
	var tInterp, tHand time.Duration
	b.ResetTimer()
	for range rounds {
		t0 := time.Now()
		if err := inParallel(phase, starters, interp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := inParallel(phase, starters, hand); err != nil {
			b.Fatal(err)
		}
		tInterp += t1.Sub(t0)
		tHand += time.Since(t1)
	}
	b.StopTimer()
	ri := float64(rounds*phase) / tInterp.Seconds()
	rh := float64(rounds*phase) / tHand.Seconds()
	b.ReportMetric(ri, "interpreter_runs/s")
	b.ReportMetric(rh, "handwritten_runs/s")
	b.ReportMetric(ri/rh, "ratio_x")
}

// BenchmarkRestartResume is the restart figure: TRELLIS_SCALE_RUNS runs (default 500) wait
// for a reviewer. Half are decided by 20 concurrent reviewers with the worker warm (every
// run in its cache): the time until all of them ended is the baseline. Then the worker is
// stopped and a new one started (a restart: nothing cached, every run replays its history)
// and the other half are decided the same way, timed from the new worker's start. The ratio
// is the second over the first. It also reports the resident memory of the process (server,
// worker and store, what `serve` holds) with all runs waiting.
func BenchmarkRestartResume(b *testing.B) {
	scaleBench(b)
	ctx := context.Background()
	db := storetest.MustOpen(b)
	deps := Deps{Tasks: storeTasks{db}, Logger: quietLogger()}
	cl := startCluster(b, b.TempDir(), deps)
	n := scaleEnv("TRELLIS_SCALE_RUNS", 500)
	def := refundGraph(b, "")
	ids := make([]string, n)
	err := inParallel(n, 8, func(i int) error {
		var err error
		ids[i], err = cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: def, Input: refundInput, StartedBy: "bench"})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := inParallel(n, 8, func(i int) error { return untilWaiting(ctx, db, cl.eng, ids[i]) }); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	rss := residentMB()

	decide := func(id string) error {
		if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 1},
			By: "bench", Groups: []string{"finance"}}); err != nil {
			return fmt.Errorf("decide %s: %w", id, err)
		}
		var out any
		return cl.c.GetWorkflow(ctx, id, "").Get(ctx, &out)
	}
	half := n / 2
	b.ResetTimer()
	t0 := time.Now()
	if err := inParallel(half, 20, func(i int) error { return decide(ids[i]) }); err != nil {
		b.Fatal(err)
	}
	warm := time.Since(t0)

	cl.w.Stop()
	w := NewWorker(cl.c, deps)
	t1 := time.Now()
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	cl.w = w
	if err := inParallel(n-half, 20, func(i int) error { return decide(ids[half+i]) }); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(t1)
	b.StopTimer()
	b.ReportMetric(float64(n), "runs_n")
	b.ReportMetric(rss, "waiting_rss_mb")
	b.ReportMetric(warm.Seconds(), "warm_s")
	b.ReportMetric(cold.Seconds(), "after_restart_s")
	b.ReportMetric(cold.Seconds()/warm.Seconds(), "ratio_x")
}

// untilWaiting polls until the run's review task is open in the store and the run waits on
// it; the deadline only keeps a broken run from hanging the benchmark.
func untilWaiting(ctx context.Context, db *store.DB, eng *Engine, id string) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		t, err := db.GetTaskByNode(ctx, id, "review")
		if err == nil && t.State == store.TaskOpen {
			qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			r, err := eng.GetRun(qctx, id)
			cancel()
			if err == nil && r.Status == RunWaiting {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("run %s: not waiting for its reviewer after 10 minutes", id)
}

// residentMB is this process's resident memory (VmRSS) in MB, or 0 where /proc lacks it.
func residentMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
