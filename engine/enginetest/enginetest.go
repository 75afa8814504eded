// Package enginetest starts the real embedded Temporal server with a worker for the tests of
// other packages: runs are what Temporal records, so their tests use the real thing.
package enginetest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"trellis/engine"
)

// Start starts the embedded server in tb.TempDir(), with a worker on deps (whose Logger,
// when nil, discards), and returns an Engine on it and its client. All of it stops when the
// test ends. It skips the test under -short.
func Start(tb testing.TB, deps engine.Deps) (*engine.Engine, client.Client) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts the embedded Temporal server")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := engine.StartServer(engine.ServerConfig{DataDir: tb.TempDir(), Token: "test-frontend-token", Logger: quiet})
	if err != nil {
		tb.Fatalf("start temporal: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Stop() })
	c, err := dial(srv, quiet)
	if err != nil {
		tb.Fatalf("dial temporal: %v", err)
	}
	tb.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := engine.EnsureSearchAttributes(ctx, c, engine.Namespace); err != nil {
		tb.Fatalf("search attributes: %v", err)
	}
	if deps.Logger == nil {
		deps.Logger = quiet
	}
	w := engine.NewWorker(c, deps)
	if err := w.Start(); err != nil {
		tb.Fatalf("start worker: %v", err)
	}
	tb.Cleanup(w.Stop)
	return engine.New(c, engine.Options{}), c
}

// dial connects to a server that has just started, waiting for its frontend to answer.
func dial(srv *engine.Server, log *slog.Logger) (client.Client, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.Dial(srv.ClientOptions(client.Options{Namespace: engine.Namespace, Logger: engine.NewSDKLogger(log)}))
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
