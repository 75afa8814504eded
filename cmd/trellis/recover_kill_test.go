package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// killableServe is `trellis serve` in a process of its own, so that it can be killed -9.
type killableServe struct {
	cmd      *exec.Cmd
	url      string
	frontend string // the embedded Temporal frontend's address
}

func startKillableServe(t *testing.T, bin, data string, extra ...string) *killableServe {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--dev", "--addr", "127.0.0.1:0", "--data", data, "--http-allow-private"}, extra...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &killableServe{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urlc := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var frontend string
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Temporal server (embedded) listening on "); ok {
				frontend = strings.TrimSuffix(strings.Fields(rest)[0], ",")
			}
			if rest, ok := strings.CutPrefix(sc.Text(), "Trellis is serving on "); ok {
				urlc <- [2]string{strings.Fields(rest)[0], frontend}
			}
		}
	}()
	select {
	case u := <-urlc:
		s.url, s.frontend = u[0], u[1]
	case <-time.After(2 * time.Minute):
		t.Fatal("serve did not start")
	}
	return s
}

// call is one call of the API (apiCall); an answer that is not a JSON object reads as nil.
func (s *killableServe) call(t *testing.T, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	code, raw, _, err := apiCall(s.url, token, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return code, out
}

func (s *killableServe) must(t *testing.T, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	code, out := s.call(t, token, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d, want %d: %v", method, path, code, want, out)
	}
	return out
}

// waitRunState polls the run until ok says so.
func (s *killableServe) waitRunState(t *testing.T, token, id, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	var last map[string]any
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, run := s.call(t, token, http.MethodGet, "/runs/"+id, nil); code == http.StatusOK {
			last = run
			if ok(run) {
				return run
			}
		}
	}
	t.Fatalf("run %s: gave up waiting until %s; last %v", id, what, last)
	return nil
}

func nodeOf(run map[string]any, id string) map[string]any {
	nodes, _ := run["nodes"].(map[string]any)
	n, _ := nodes[id].(map[string]any)
	return n
}

// TestServeKilledAfterRetry: a retry accepted (while the run is paused, so that the next
// attempt cannot start yet) survives serve being killed -9; after a restart and a resume the
// node runs once, and the run completes with the one retry recorded.
func TestServeKilledAfterRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds trellis and starts the embedded Temporal server twice")
	}
	bin := trellisBinary(t)
	var up atomic.Bool
	var after atomic.Int64 // requests once the service is back
	svc := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		after.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer svc.Close()

	data := t.TempDir()
	s := startKillableServe(t, bin, data)
	tokens := cliTokens(t, data, "analyst", "developer")
	ana, dev := tokens["analyst"], tokens["developer"]
	doc := map[string]any{"format": "trellis.graph/v1", "name": "Held call", "on_error": "hold",
		"nodes": []any{map[string]any{"id": "call", "kind": "http", "config": map[string]any{"url": svc.URL + "/x"},
			"retry": map[string]any{"max_attempts": 1}}},
		"edges": []any{}}
	g := s.must(t, ana, http.MethodPost, "/graphs", map[string]any{"name": "Held call", "definition": doc}, http.StatusCreated)
	gid, _ := g["id"].(string)
	s.must(t, ana, http.MethodPost, "/graphs/"+gid+"/versions", map[string]any{"note": "first"}, http.StatusCreated)
	started := s.must(t, ana, http.MethodPost, "/graphs/"+gid+"/runs", map[string]any{"input": map[string]any{}}, http.StatusCreated)
	id, _ := started["run_id"].(string)
	s.waitRunState(t, dev, id, "held", func(r map[string]any) bool { return r["status"] == "held" })

	s.must(t, dev, http.MethodPost, "/runs/"+id+"/pause", nil, http.StatusAccepted)
	s.must(t, dev, http.MethodPost, "/runs/"+id+"/nodes/call/retry", map[string]any{"comment": "before the crash"}, http.StatusAccepted)
	s.kill(t)

	up.Store(true)
	s = startKillableServe(t, bin, data)
	// Until the new worker answers the run's query, the API knows only the status that
	// visibility holds, without the nodes: wait for the nodes too.
	run := s.waitRunState(t, dev, id, "paused after the restart", func(r map[string]any) bool {
		return r["status"] == "paused" && nodeOf(r, "call") != nil
	})
	if st := nodeOf(run, "call")["status"]; st != "pending" {
		t.Fatalf("call after the restart = %v, want pending (retry accepted, not started)", nodeOf(run, "call"))
	}
	s.must(t, dev, http.MethodPost, "/runs/"+id+"/resume", nil, http.StatusAccepted)
	run = s.waitRunState(t, dev, id, "ended", func(r map[string]any) bool { return r["ended_at"] != nil && nodeOf(r, "call") != nil })
	call := nodeOf(run, "call")
	actions, _ := call["actions"].([]any)
	if run["status"] != "completed" || call["status"] != "completed" || len(actions) != 1 {
		t.Fatalf("run = %v", run)
	}
	if n := after.Load(); n != 1 {
		t.Errorf("the node ran %d times after the retry, want once", n)
	}
}
