package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"trellis/engine"
)

// The Temporal Web UI reaches the embedded frontend, which wants Trellis's credential: the
// UI's calls carry it.
func TestTemporalUIReachesTheGuardedFrontend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := engine.StartServer(engine.ServerConfig{DataDir: t.TempDir(), Token: "ui-test-token", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	stop, err := startTemporalUI(addr, srv.HostPort(), "ui-test-token")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var last string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/api/v1/namespaces")
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = resp.Status + " " + string(b)
		if resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"default"`) {
			return
		}
	}
	t.Fatalf("the UI's namespaces: %s", last)
}
