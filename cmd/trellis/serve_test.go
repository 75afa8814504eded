package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// servedApp is a real `trellis serve` running in this process on a free port.
type servedApp struct {
	url  string
	data string
	done chan int
	out  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `trellis serve --dev` with the embedded Temporal server and waits until it
// prints its address. Cancelling ctx stops it, as SIGINT does. extra are more flags.
func startServe(t *testing.T, ctx context.Context, data string, extra ...string) *servedApp {
	t.Helper()
	pr, pw := io.Pipe()
	app := &servedApp{data: data, done: make(chan int, 1), out: &syncBuffer{}}
	args := append([]string{"serve", "--dev", "--addr", "127.0.0.1:0", "--data", data}, extra...)
	go func() {
		app.done <- run(ctx, args, strings.NewReader(""), pw, app.out)
		pw.Close()
	}()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			app.out.Write([]byte(line + "\n"))
			if rest, ok := strings.CutPrefix(line, "Trellis is serving on "); ok {
				urlc <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case app.url = <-urlc:
	case code := <-app.done:
		t.Fatalf("serve exited with %d before serving:\n%s", code, app.out)
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not start:\n%s", app.out)
	}
	return app
}

// api calls the app's JSON API and fails the test unless it answers want; an object answer
// is decoded.
func (a *servedApp) api(t *testing.T, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	code, raw, _, err := apiCall(a.url, token, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, code, want, raw)
	}
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestServeEndToEnd drives the real binary's wiring: --dev demo data, the embedded Temporal
// server, the worker with the store's secrets and versions, the JSON API, a second serve on
// the same data dir refused, and a clean stop.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	data := t.TempDir()
	// The sample graph calls three services; orders needs the ORDERS_TOKEN secret.
	var gotAuth string
	var mu sync.Mutex
	svc := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/users":
			fmt.Fprint(w, `[{"id": 1}]`)
		case "/orders":
			mu.Lock()
			gotAuth = r.Header.Get("Authorization")
			mu.Unlock()
			fmt.Fprint(w, `[{"id": 7}]`)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer svc.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The http node calls a test server on loopback, which serve refuses by default.
	app := startServe(t, ctx, data, "--metrics-addr", "127.0.0.1:0", "--log-format", "json", "--http-allow-private")
	// The log-ins follow the address line; wait for the last of them, however slow the machine.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(app.out.String(), "llm nodes need a provider") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"log in as analyst", "password trellis-dev", "Temporal server (embedded) listening on"} {
		if !strings.Contains(app.out.String(), want) {
			t.Errorf("serve output lacks %q:\n%s", want, app.out)
		}
	}

	resp, err := http.Get(app.url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %v %v", resp, err)
	}
	resp.Body.Close()

	// The admin commands work beside a running serve (they do not take the lock) ...
	if code, _, errOut := runCLI(t, "s3cret-orders\n", "secret", "set", "ORDERS_TOKEN", "--value-stdin", "--data", data); code != 0 {
		t.Fatalf("secret set: %s", errOut)
	}
	token := cliTokens(t, data, "analyst")["analyst"]

	// ... but a second serve on the same data dir is refused with a clear message.
	code, _, errOut := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--data", data)
	if code == 0 || !strings.Contains(errOut, "in use by another trellis process") {
		t.Fatalf("second serve: code %d, stderr %q", code, errOut)
	}

	// --dev published the samples; run the fan-out graph to completion.
	var graphs []map[string]any
	req, _ := http.NewRequest(http.MethodGet, app.url+"/api/v1/graphs", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	gr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(gr.Body).Decode(&graphs)
	gr.Body.Close()
	if want, _ := fs.Glob(samples, "samples/*.json"); len(graphs) != len(want) {
		t.Fatalf("dev graphs = %v, want the %d samples", graphs, len(want))
	}
	var fanout string
	for _, g := range graphs {
		if g["name"] == "Fetch three sources and merge" {
			fanout = g["id"].(string)
		}
	}
	if fanout == "" {
		t.Fatalf("fan-out sample missing from %v", graphs)
	}
	app.api(t, token, http.MethodPost, "/graphs/"+fanout+"/runs", map[string]any{"input": map[string]any{}}, http.StatusUnprocessableEntity)
	started := app.api(t, token, http.MethodPost, "/graphs/"+fanout+"/runs", map[string]any{"input": map[string]any{"base_url": svc.URL}}, http.StatusCreated)
	runID := started["run_id"].(string)

	var run map[string]any
	deadline := time.Now().Add(90 * time.Second)
	for {
		run = app.api(t, token, http.MethodGet, "/runs/"+runID, nil, http.StatusOK)
		if run["status"] != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if run["status"] != "completed" {
		t.Fatalf("run = %v", run)
	}
	nodes := run["nodes"].(map[string]any)
	if s := nodes["note_stock_down"].(map[string]any)["status"]; s != "completed" {
		t.Errorf("stock failure should continue on the error port; note_stock_down is %v", s)
	}
	out, _ := json.Marshal(run["output"])
	if !strings.Contains(string(out), `"orders":[{"id":7}]`) || !strings.Contains(string(out), "stock service unavailable") {
		t.Errorf("output = %s", out)
	}
	mu.Lock()
	if gotAuth != "Bearer s3cret-orders" {
		t.Errorf("orders got Authorization %q, want the secret resolved", gotAuth)
	}
	mu.Unlock()
	if strings.Contains(app.out.String(), "s3cret-orders") {
		t.Error("the secret value appeared in serve's output")
	}
	checkObservability(t, app, fanout, runID)

	// Stopping (SIGINT) ends serve cleanly.
	cancel()
	app.waitStopped(t)
}

// waitStopped waits for serve, whose context was cancelled, to exit with 0.
func (app *servedApp) waitStopped(t *testing.T) { waitExit(t, "serve", app.done, app.out) }

// waitExit waits for a command that was told to stop to exit with 0. Past the limit it dumps
// the goroutines, which show what the shutdown waits for; each part of it may take stopLimit.
// It fails the test without stopping it, so that deferred calls may use it.
func waitExit(t *testing.T, what string, done <-chan int, out fmt.Stringer) {
	t.Helper()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("%s exited with %d:\n%s", what, code, out)
		}
	case <-time.After(2 * time.Minute):
		dumpGoroutines(t)
		t.Errorf("%s did not stop:\n%s", what, out)
	}
}

// dumpGoroutines writes where every goroutine is, grouped by stack, to stderr: what a
// shutdown that hangs is waiting for.
func dumpGoroutines(t *testing.T) {
	t.Helper()
	fmt.Fprintf(os.Stderr, "=== goroutines of %s\n", t.Name())
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
}

func TestServeRefusesBadFlagsBeforeTouchingData(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "web ui off loopback", args: []string{"--temporal-ui-addr", "0.0.0.0:8233"}, want: "only listens on loopback"},
		{name: "web ui bad port", args: []string{"--temporal-ui-addr", "127.0.0.1:x"}, want: "bad port"},
		{name: "tls without address", args: []string{"--temporal-tls-ca", "ca.pem"}, want: "need --temporal-address"},
		{name: "listen with remote cluster", args: []string{"--temporal-address", "h:7233", "--temporal-listen", "127.0.0.1:7233"}, want: "for the embedded server"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: "--log-level"},
		{name: "bad http allow", args: []string{"--http-allow", "10.0.0.0/99"}, want: "--http-allow"},
		{name: "bad public url", args: []string{"--public-url", "ftp://x"}, want: "--public-url"},
		{name: "bad trusted proxy", args: []string{"--trusted-proxy", "10.0.0.1,10.0.0.0/33"}, want: "--trusted-proxy \"10.0.0.0/33\""},
		{name: "no map items", args: []string{"--max-map-items", "0"}, want: "--max-map-items must be from 1 to 100000, not 0"},
		{name: "short retention", args: []string{"--run-retention", "2h"}, want: "--run-retention 2h0m0s is less than Temporal's least, 24h"},
		{name: "retention with remote cluster", args: []string{"--temporal-address", "h:7233", "--run-retention", "48h"}, want: "--run-retention is for the embedded server"},
		{name: "too many map items", args: []string{"--max-map-items", "100001"}, want: "--max-map-items must be from 1 to 100000"},
		{name: "tiny run cache", args: []string{"--run-cache", "3"}, want: "--run-cache must be from 10 to 1000000, not 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			code, _, errOut := runCLI(t, "", append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, tt.args...)...)
			if code == 0 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Fatalf("code %d, stderr %q; want one line containing %q", code, errOut, tt.want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("the data dir was created (%v); a bad flag must write nothing", err)
			}
		})
	}
}

// checkObservability: --metrics-addr serves the SDK's metrics and ours, and --log-format
// json logs lines about the run with its run_id.
func checkObservability(t *testing.T, app *servedApp, graph, runID string) {
	t.Helper()
	_, rest, ok := strings.Cut(app.out.String(), "Prometheus metrics on ")
	if !ok {
		t.Fatalf("serve did not say where its metrics are:\n%s", app.out)
	}
	resp, err := http.Get(strings.Fields(rest)[0])
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	for _, want := range []string{
		`trellis_runs_started_total{graph="` + graph + `"} 1`,
		`trellis_runs_ended_total{graph="` + graph + `",status="completed"} 1`,
		`trellis_http_request_duration_seconds_count{method="GET",route="/api/v1/runs/:id",status="200"}`,
		`trellis_node_duration_seconds_count{graph="` + graph + `",kind="http",status="completed"}`,
		`temporal_workflow_completed_total{`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q in:\n%s", want, grepLines(body, "trellis_"))
		}
	}
	found := false
	for _, line := range strings.Split(app.out.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["run_id"] == runID && rec["msg"] == "request" {
			found = true
		}
	}
	if !found {
		t.Errorf("no JSON request log line with run_id %s:\n%s", runID, app.out)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
