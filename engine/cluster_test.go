package engine

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// testCluster is the real embedded server with a client, a worker and an Engine on top.
type testCluster struct {
	srv *Server
	c   client.Client
	w   worker.Worker
	eng *Engine
}

// testFrontendToken: the test servers want a credential, as serve's does.
const testFrontendToken = "test-frontend-token"

// startCluster starts (or restarts) the embedded server on dir. tb may be a benchmark.
func startCluster(tb testing.TB, dir string, deps Deps) *testCluster {
	tb.Helper()
	srv, err := StartServer(ServerConfig{DataDir: dir, Token: testFrontendToken, Logger: quietLogger()})
	if err != nil {
		tb.Fatalf("start server: %v", err)
	}
	var c client.Client
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err = client.Dial(srv.ClientOptions(client.Options{Namespace: Namespace,
			Logger: NewSDKLogger(quietLogger())}))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		srv.Stop()
		tb.Fatalf("dial server: %v", err)
	}
	saCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := EnsureSearchAttributes(saCtx, c, Namespace); err != nil {
		c.Close()
		srv.Stop()
		tb.Fatalf("search attributes: %v", err)
	}
	if deps.Logger == nil {
		deps.Logger = quietLogger()
	}
	w := NewWorker(c, deps)
	if err := w.Start(); err != nil {
		c.Close()
		srv.Stop()
		tb.Fatalf("start worker: %v", err)
	}
	cl := &testCluster{srv: srv, c: c, w: w, eng: New(c, Options{})}
	tb.Cleanup(cl.stop)
	return cl
}

// stop shuts the worker, client and server down; calling it twice is fine.
func (cl *testCluster) stop() {
	if cl.srv == nil {
		return
	}
	cl.w.Stop()
	cl.c.Close()
	_ = cl.srv.Stop()
	cl.srv = nil
}

// waitRun polls GetRun until done says so; the deadline only keeps a broken run from
// hanging the test.
func waitRun(tb testing.TB, eng *Engine, runID string, what string, done func(*Run) bool) *Run {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last *Run
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		r, err := eng.GetRun(ctx, runID)
		cancel()
		if err == nil {
			last = r
			if done(r) {
				return r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("run %s: gave up waiting until %s; last state %s", runID, what, toJSON(last))
	return nil
}

func ended(r *Run) bool {
	return r.Status == RunCompleted || r.Status == RunFailed || r.Status == RunCancelled
}
