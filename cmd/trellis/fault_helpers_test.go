package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"trellis/engine"
	"trellis/store"
)

// The trellis binary the kill tests run, built once per test process.
var trellisBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// trellisBinary builds cmd/trellis once and answers its path; the tests that kill serve
// share it (each build costs a minute on a busy CI machine).
func trellisBinary(t testing.TB) string {
	t.Helper()
	trellisBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "trellis-bin-")
		if err != nil {
			trellisBin.err = err
			return
		}
		trellisBin.dir, trellisBin.path = dir, filepath.Join(dir, "trellis")
		if out, err := exec.Command("go", "build", "-o", trellisBin.path, ".").CombinedOutput(); err != nil {
			trellisBin.err = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if trellisBin.err != nil {
		t.Fatal(trellisBin.err)
	}
	return trellisBin.path
}

// removeTrellisBinary removes what trellisBinary built; TestMain calls it.
func removeTrellisBinary() {
	if trellisBin.dir != "" {
		_ = os.RemoveAll(trellisBin.dir)
	}
}

// kill ends serve with SIGKILL and waits until the process is gone (once).
func (s *killableServe) kill(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	if err := s.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
}

// get is a GET of the API whose answer may be any JSON (a list, say).
func (s *killableServe) get(t *testing.T, token, path string) (int, any) {
	t.Helper()
	code, raw, _, err := apiCall(s.url, token, http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	_ = json.Unmarshal(raw, &out)
	return code, out
}

// waitUntil polls ok until it holds; last says what was seen, for the failure message.
func waitUntil(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var done bool
		if done, last = ok(); done {
			return
		}
	}
	t.Fatalf("gave up waiting until %s; last: %s", what, last)
}

// publishGraph creates a graph from doc and publishes it; it answers the graph's id.
func (s *killableServe) publishGraph(t *testing.T, token, name string, doc map[string]any) string {
	t.Helper()
	g := s.must(t, token, http.MethodPost, "/graphs", map[string]any{"name": name, "definition": doc}, http.StatusCreated)
	id, _ := g["id"].(string)
	s.must(t, token, http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "first"}, http.StatusCreated)
	return id
}

// startRun starts a run of the graph's latest version and answers its id.
func (s *killableServe) startRun(t *testing.T, token, graph string, input map[string]any) string {
	t.Helper()
	out := s.must(t, token, http.MethodPost, "/graphs/"+graph+"/runs", map[string]any{"input": input}, http.StatusCreated)
	id, _ := out["run_id"].(string)
	return id
}

// waitEnded waits until the run has ended and the API shows its nodes.
func (s *killableServe) waitEnded(t *testing.T, token, id string) map[string]any {
	t.Helper()
	return s.waitRunState(t, token, id, "ended", func(r map[string]any) bool {
		nodes, _ := r["nodes"].(map[string]any)
		return r["ended_at"] != nil && len(nodes) > 0
	})
}

// doctorHealthy runs `trellis doctor` (no repair) against the running serve and fails the
// test unless it reports the store and the runs agree.
func (s *killableServe) doctorHealthy(t *testing.T, data string) {
	t.Helper()
	code, out, errOut := runCLI(t, "", "doctor", "--data", data, "--temporal-address", s.frontend)
	if code != 0 || !strings.HasPrefix(lastLine(out), "healthy: ") {
		t.Fatalf("doctor: exit %d\n%s\n%s", code, out, errOut)
	}
}

// temporal is a client of serve's embedded Temporal frontend, dialled as doctor does.
func (s *killableServe) temporal(t *testing.T, data string) client.Client {
	t.Helper()
	tc, err := dialDoctor(context.Background(), &temporalFlags{address: s.frontend, namespace: engine.Namespace}, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// waitRetrying waits until the run's pending activity name has failed and waits for its
// next attempt.
func waitRetrying(t *testing.T, tc client.Client, runID, name string) {
	t.Helper()
	waitUntil(t, name+" of "+runID+" has failed and is retried", func() (bool, string) {
		d, err := tc.DescribeWorkflowExecution(context.Background(), runID, "")
		if err != nil {
			return false, err.Error()
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == name {
				return pa.GetAttempt() >= 2 && pa.GetLastFailure() != nil, fmt.Sprintf("attempt %d, failure %v", pa.GetAttempt(), pa.GetLastFailure())
			}
		}
		return false, name + " is not pending"
	})
}

// checkIntegrity runs PRAGMA integrity_check on both SQLite files of a data dir (the
// store and Temporal's), which serve must not be using. It checks copies, with their
// write-ahead logs (or a rollback journal), so that opening them changes nothing in the
// data dir.
func checkIntegrity(t *testing.T, data string) {
	t.Helper()
	for _, name := range []string{store.DBFileName, temporalDBFile} {
		dir := t.TempDir()
		for _, suffix := range []string{"", "-wal", "-journal"} {
			b, err := os.ReadFile(filepath.Join(data, name+suffix))
			if os.IsNotExist(err) && suffix != "" {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+suffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if res, err := integrityCheck(filepath.Join(dir, name)); err != nil || len(res) != 1 || res[0] != "ok" {
			t.Errorf("%s: integrity_check = %q, %v", name, res, err)
		}
	}
}

// integrityCheck is what PRAGMA integrity_check says of the SQLite file at path.
func integrityCheck(path string) ([]string, error) {
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return res, err
		}
		res = append(res, s)
	}
	return res, rows.Err()
}

// TestFaultIntegrityCheckFindsDamage: the check the kill tests make of the SQLite files
// finds a damaged one.
func TestFaultIntegrityCheckFindsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "CREATE INDEX t_v ON t (v)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT i, printf('value %d', i) FROM n"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if res, err := integrityCheck(path); err != nil || len(res) != 1 || res[0] != "ok" {
		t.Fatalf("a sound file: %q, %v", res, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8*4096 {
		t.Fatalf("the file has %d bytes, too few to damage a page in the middle", len(b))
	}
	// Scribble over the cells of a page in the middle, keeping its header.
	for i := 6*4096 + 200; i < 7*4096; i++ {
		b[i] = 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if res, err := integrityCheck(path); err == nil && len(res) == 1 && res[0] == "ok" {
		t.Fatal("integrity_check says a damaged file is ok")
	}
}

// temporalDBFile is the embedded Temporal server's SQLite file in the data dir
// (engine/server.go).
const temporalDBFile = "temporal.db"

// faultCall is one request the fault service saw.
type faultCall struct {
	Key        string // its Idempotency-Key
	AfterCrash bool   // it came once serve had been killed
}

// faultService is a web service for the runs of the kill tests. Before the crash it holds
// the requests whose path hold names (until the test lets them go or the caller goes
// away); after it, it answers every request. It records each request by path.
type faultService struct {
	hold    func(path string) bool
	crashed atomic.Bool
	release chan struct{}

	mu    sync.Mutex
	calls map[string][]faultCall
	held  map[string]int // requests being held now, by path
}

func newFaultService(hold func(path string) bool) *faultService {
	return &faultService{hold: hold, release: make(chan struct{}), calls: map[string][]faultCall{}, held: map[string]int{}}
}

// crash says serve is dead: held requests end, and from now on every request is answered.
func (f *faultService) crash() {
	f.crashed.Store(true)
	close(f.release)
}

func (f *faultService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	after := f.crashed.Load()
	f.mu.Lock()
	f.calls[r.URL.Path] = append(f.calls[r.URL.Path], faultCall{Key: r.Header.Get("Idempotency-Key"), AfterCrash: after})
	hold := !after && f.hold(r.URL.Path)
	if hold {
		f.held[r.URL.Path]++
	}
	f.mu.Unlock()
	if hold {
		select { // the killed serve's request: never answered
		case <-f.release:
		case <-r.Context().Done():
		}
		f.mu.Lock()
		f.held[r.URL.Path]--
		f.mu.Unlock()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]any{"path": r.URL.Path})
	_, _ = w.Write(buf.Bytes())
}

// callsTo is what the service saw at path.
func (f *faultService) callsTo(path string) []faultCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]faultCall(nil), f.calls[path]...)
}

// heldAt is how many requests to path are being held now.
func (f *faultService) heldAt(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held[path]
}
