package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/engine"
	"trellis/internal/testsvc"
)

// oneApproval is a graph with one approval for the reviewer demo user.
const oneApproval = `{"format": "trellis.graph/v1", "name": "One approval", "nodes": [
	{"id": "ask", "kind": "approval", "config": {"title": "Approve {{ input.n }}", "assignee": "user:reviewer"}},
	{"id": "done", "kind": "transform", "config": {"value": "'approved ' + string(input.n)"}}],
  "edges": [{"from": "ask", "to": "done", "port": "approve"}]}`

// TestScaleOutWorker is serve and a remote `trellis worker` (no data dir of its own) on
// serve's embedded Temporal frontend. Serve polls only the store queue
// (--remote-workers-only), so every run, and every http node, runs on the remote worker;
// the approval tasks still land in serve's inbox, and the http node gets its secret from
// serve's internal API, which opens only to the worker token.
func TestScaleOutWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	data := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "worker.token")
	var mu sync.Mutex
	var gotAuth []string
	svc := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/orders":
			mu.Lock()
			gotAuth = append(gotAuth, r.Header.Get("Authorization"))
			mu.Unlock()
			fmt.Fprint(w, `[{"id": 7}]`)
		case "/users":
			fmt.Fprint(w, `[{"id": 1}]`)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer svc.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app := startServe(t, ctx, data, "--remote-workers-only", "--worker-token-file", tokenFile)
	m := regexp.MustCompile(`Temporal server \(embedded\) listening on (\S+),`).FindStringSubmatch(app.out.String())
	if m == nil {
		t.Fatalf("no Temporal frontend address in serve's output:\n%s", app.out)
	}
	frontend := m[1]
	if !strings.Contains(app.out.String(), "wrote a new worker token to "+tokenFile) {
		t.Errorf("serve did not say it wrote the worker token:\n%s", app.out)
	}
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("worker token file: %v, %v; want mode 0600", fi, err)
	}
	workerToken, err := readWorkerToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}

	const secret = "s3cret-orders"
	if code, _, errOut := runCLI(t, secret+"\n", "secret", "set", "ORDERS_TOKEN", "--value-stdin", "--data", data); code != 0 {
		t.Fatalf("secret set: %s", errOut)
	}
	tokens := cliTokens(t, data, "analyst", "reviewer", "admin")

	// Without --serve-url a worker refuses to start, in one line saying what to configure.
	code, _, errOut := runCLI(t, "", "worker", "--temporal-address", frontend)
	if code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") > 0 ||
		!strings.Contains(errOut, "--serve-url") || !strings.Contains(errOut, "--worker-token-file") {
		t.Fatalf("worker without --serve-url: code %d, stderr %q", code, errOut)
	}

	// The internal API opens to the worker token only: not anonymously, not to a wrong
	// token, not to users' tokens, not even an admin's.
	secretPath := "/api/v1/internal/secrets/ORDERS_TOKEN"
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"wrong token", "Bearer " + strings.Repeat("x", 43), http.StatusUnauthorized},
		{"analyst", "Bearer " + tokens["analyst"], http.StatusForbidden},
		{"admin", "Bearer " + tokens["admin"], http.StatusForbidden},
	} {
		if status, body := getRaw(t, app.url+secretPath, tt.auth); status != tt.want || strings.Contains(body, secret) {
			t.Errorf("%s: GET %s = %d %s, want %d without the value", tt.name, secretPath, status, body, tt.want)
		}
	}
	if status, body := getRaw(t, app.url+secretPath, "Bearer "+workerToken); status != http.StatusOK ||
		!strings.Contains(body, `"value":"`+secret+`"`) {
		t.Errorf("worker token: GET %s = %d %s", secretPath, status, body)
	}
	if status, _ := getRaw(t, app.url+"/api/v1/internal/secrets/NOT_SET", "Bearer "+workerToken); status != http.StatusNotFound {
		t.Errorf("a secret that is not set: %d, want 404", status)
	}

	// The worker's client reads providers and secrets as the engine needs them.
	if code, _, errOut := runCLI(t, "", "provider", "set", "default", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1",
		"--model", "m1", "--api-key-secret", "OPENAI_KEY", "--price", "m1=1,2", "--data", data); code != 0 {
		t.Fatalf("provider set: %s", errOut)
	}
	sc, err := newServeClient(app.url+"/", workerToken)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sc.Provider(ctx, "default")
	if err != nil || p.BaseURL != "http://127.0.0.1:9/v1" || p.Model != "m1" || p.APIKeySecret != "OPENAI_KEY" ||
		p.Timeout <= 0 || p.Prices["m1"].CompletionPerMTok != 2 {
		t.Errorf("provider through serve = %+v, %v", p, err)
	}
	if _, err := sc.Provider(ctx, "nope"); !errors.Is(err, engine.ErrProviderNotFound) {
		t.Errorf("unknown provider: %v, want ErrProviderNotFound", err)
	}
	if _, err := sc.Secret(ctx, "NOT_SET"); !errors.Is(err, engine.ErrSecretNotFound) {
		t.Errorf("unset secret: %v, want ErrSecretNotFound", err)
	}

	// A worker whose token serve does not know refuses to start.
	bad := filepath.Join(t.TempDir(), "bad.token")
	if err := os.WriteFile(bad, []byte(strings.Repeat("y", 43)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "", "worker", "--temporal-address", frontend, "--serve-url", app.url, "--worker-token-file", bad)
	if code != 1 || !strings.Contains(errOut, "refused the worker token") {
		t.Fatalf("worker with a wrong token: code %d, stderr %q", code, errOut)
	}

	// The remote worker, as on a second machine: no data dir, serve's URL and token only.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wout, werr := &syncBuffer{}, &syncBuffer{}
	wdone := make(chan int, 1)
	go func() {
		// The http node calls a test server on loopback, which workers refuse by default.
		wdone <- run(wctx, []string{"worker", "--temporal-address", frontend, "--serve-url", app.url,
			"--worker-token-file", tokenFile, "--http-allow-private"}, strings.NewReader(""), wout, werr)
	}()
	waitFor(t, "the worker connects", func() bool {
		select {
		case code := <-wdone:
			t.Fatalf("worker exited with %d:\n%s%s", code, wout, werr)
		default:
		}
		return strings.Contains(wout.String(), "worker connected to "+frontend)
	})

	// Six runs of a one-approval graph: every task is in the reviewers' inbox.
	var created map[string]any
	mustAPI(t, app.url, tokens["analyst"], http.MethodPost, "/graphs",
		map[string]any{"name": "One approval", "definition": json.RawMessage(oneApproval)}, http.StatusCreated, &created)
	graphID := created["id"].(string)
	mustAPI(t, app.url, tokens["analyst"], http.MethodPost, "/graphs/"+graphID+"/versions", map[string]any{"note": "v1"}, http.StatusCreated, nil)
	var runIDs []string
	for i := range 6 {
		var started map[string]any
		mustAPI(t, app.url, tokens["analyst"], http.MethodPost, "/graphs/"+graphID+"/runs",
			map[string]any{"input": map[string]any{"n": i}}, http.StatusCreated, &started)
		runIDs = append(runIDs, started["run_id"].(string))
	}
	var inbox []map[string]any
	waitFor(t, "six tasks are in the inbox", func() bool {
		inbox = nil
		mustAPI(t, app.url, tokens["reviewer"], http.MethodGet, "/tasks?state=open&limit=100", nil, http.StatusOK, &inbox)
		return len(inbox) >= len(runIDs)
	})
	var inboxRuns []string
	for _, task := range inbox {
		inboxRuns = append(inboxRuns, task["run_id"].(string))
	}
	slices.Sort(inboxRuns)
	want := slices.Sorted(slices.Values(runIDs))
	if !slices.Equal(inboxRuns, want) {
		t.Fatalf("inbox runs = %v, want %v", inboxRuns, want)
	}
	for _, task := range inbox {
		// The task is stored a moment before the run takes in that it waits.
		waitFor(t, "run "+task["run_id"].(string)+" waits", func() bool {
			run := app.api(t, tokens["analyst"], http.MethodGet, "/runs/"+task["run_id"].(string), nil, http.StatusOK)
			return run["status"] == "waiting"
		})
		mustAPI(t, app.url, tokens["reviewer"], http.MethodPost, "/tasks/"+task["id"].(string)+"/decision",
			map[string]any{"outcome": "approve"}, http.StatusOK, nil)
	}
	for i, id := range runIDs {
		run := waitRunEnded(t, app, tokens["analyst"], id)
		done, _ := run["nodes"].(map[string]any)["done"].(map[string]any)
		if run["status"] != "completed" || done["output"] != fmt.Sprintf("approved %d", i) {
			t.Errorf("run %s = %v", id, run)
		}
	}

	// An http node with a secret: only the remote worker polls the main queue, so it ran
	// there, with the secret it got from serve.
	var graphs []map[string]any
	mustAPI(t, app.url, tokens["analyst"], http.MethodGet, "/graphs", nil, http.StatusOK, &graphs)
	var fanout string
	for _, g := range graphs {
		if g["name"] == "Fetch three sources and merge" {
			fanout = g["id"].(string)
		}
	}
	var started map[string]any
	mustAPI(t, app.url, tokens["analyst"], http.MethodPost, "/graphs/"+fanout+"/runs",
		map[string]any{"input": map[string]any{"base_url": svc.URL}}, http.StatusCreated, &started)
	if run := waitRunEnded(t, app, tokens["analyst"], started["run_id"].(string)); run["status"] != "completed" {
		t.Fatalf("fan-out run = %v\nworker:\n%s", run, werr)
	}
	mu.Lock()
	if len(gotAuth) != 1 || gotAuth[0] != "Bearer "+secret {
		t.Errorf("orders got Authorization %q, want the secret resolved once", gotAuth)
	}
	mu.Unlock()
	for name, out := range map[string]string{"serve": app.out.String(), "worker stdout": wout.String(), "worker stderr": werr.String()} {
		if strings.Contains(out, secret) || strings.Contains(out, workerToken) {
			t.Errorf("the secret or the worker token appeared in %s's output", name)
		}
	}

	wcancel()
	waitExit(t, "worker", wdone, werr)
	cancel()
	app.waitStopped(t)
}

// TestServeWorkerFlagsRefused: serve leaves runs to remote workers only when they can sign
// in, and refuses a token file without a usable token, before touching the data dir.
func TestServeWorkerFlagsRefused(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short.token")
	if err := os.WriteFile(short, []byte("# a comment\nshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "remote only without tokens", args: []string{"--remote-workers-only"}, want: "--remote-workers-only needs --worker-token-file"},
		{name: "short token", args: []string{"--worker-token-file", short}, want: "shorter than 32 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			code, _, errOut := runCLI(t, "", append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, tt.args...)...)
			if code == 0 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Fatalf("code %d, stderr %q; want one line containing %q", code, errOut, tt.want)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Fatalf("the data dir was created (%v)", err)
			}
		})
	}
}

func getRaw(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitRunEnded(t *testing.T, app *servedApp, token, runID string) map[string]any {
	t.Helper()
	var run map[string]any
	waitFor(t, "run "+runID+" ends", func() bool {
		run = app.api(t, token, http.MethodGet, "/runs/"+runID, nil, http.StatusOK)
		return run["status"] != "running" && run["status"] != "waiting"
	})
	return run
}

// waitFor polls ok until it holds; the deadline only keeps a broken setup from hanging.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
