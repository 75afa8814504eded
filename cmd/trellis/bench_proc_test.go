package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Helpers of the load, restart and scale-out benchmarks (bench_load_test.go,
// bench_workers_test.go): `trellis serve` and `trellis worker` as processes of their own,
// users made with the CLI, and an API client that counts what went wrong instead of failing
// at the first error.

// benchHTTP keeps connections open for the benchmarks' 20-odd concurrent callers (the
// default transport keeps two per host, so most requests would dial anew).
var benchHTTP = &http.Client{
	Transport: &http.Transport{MaxIdleConns: 200, MaxIdleConnsPerHost: 200, IdleConnTimeout: time.Minute},
	Timeout:   3 * time.Minute,
}

// benchProc is a trellis process: serve or worker.
type benchProc struct {
	cmd     *exec.Cmd
	out     *syncBuffer // stdout
	logPath string      // stderr (the log) goes to this file
	exited  chan struct{}
	started time.Time
}

// startProc starts the trellis binary with args; the test's cleanup kills it if it still runs.
func startProc(tb testing.TB, args ...string) *benchProc {
	tb.Helper()
	bin := trellisBinary(tb)
	logf, err := os.CreateTemp(tb.TempDir(), args[0]+"-*.log")
	if err != nil {
		tb.Fatal(err)
	}
	p := &benchProc{cmd: exec.Command(bin, args...), out: &syncBuffer{}, logPath: logf.Name(), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, logf
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		if !p.done() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *benchProc) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop ends the process as an operator would, with SIGTERM, and waits until it is gone.
func (p *benchProc) stop(tb testing.TB) {
	tb.Helper()
	if p.done() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(3 * time.Minute):
		tb.Fatalf("%s did not stop within 3 minutes of SIGTERM\n%s", p.cmd.Args[1], p.logTail())
	}
}

// logTail is, for failure messages, the process's first 20 errors and warnings (the cause of
// an error answer is logged when it happens, long before the end) and the end of its log.
func (p *benchProc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var bad []string
	for _, l := range lines {
		if len(bad) < 20 && (strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN")) {
			bad = append(bad, l)
		}
	}
	return strings.Join(bad, "\n") + "\n...\n" + strings.Join(lines[max(0, len(lines)-10):], "\n")
}

// rssMB is the process's resident memory (VmRSS in /proc/PID/status), in MiB.
func (p *benchProc) rssMB(tb testing.TB) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	return 0
}

// benchServe is `trellis serve` in a process of its own.
type benchServe struct {
	*benchProc
	url      string    // http://127.0.0.1:PORT
	frontend string    // the embedded Temporal frontend's address
	ready    time.Time // when /healthz first answered 200
}

// freeAddr is a loopback address nothing listens on now; serve listens on it, and a
// restarted serve again (Go's listeners set SO_REUSEADDR).
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startBenchServe starts serve on addr and data and returns once /healthz answers 200 (the
// store and Temporal answer). Runs may start as fast as the benchmark likes; the http nodes
// may call the local test services.
func startBenchServe(tb testing.TB, data, addr string, extra ...string) *benchServe {
	tb.Helper()
	args := append([]string{"serve", "--addr", addr, "--data", data, "--http-allow-private", "--max-runs-per-minute", "10000000"}, extra...)
	s := &benchServe{benchProc: startProc(tb, args...), url: "http://" + addr}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if s.done() {
			tb.Fatalf("serve exited before it answered:\n%s%s", s.out, s.logTail())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("serve did not answer /healthz within 3 minutes:\n%s%s", s.out, s.logTail())
		}
		if resp, err := benchHTTP.Get(s.url + "/healthz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.ready = time.Now()
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(s.out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "Temporal server (embedded) listening on "); ok {
			s.frontend = strings.TrimSuffix(strings.Fields(rest)[0], ",")
		}
	}
	if s.frontend == "" {
		tb.Fatalf("no Temporal frontend address in serve's output:\n%s", s.out)
	}
	return s
}

// benchCLI runs a trellis command line in this process (as the CLI tests do) and answers
// its standard output; a failure fails the benchmark.
func benchCLI(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut); code != 0 {
		tb.Fatalf("trellis %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

// benchUser adds a user with roles and groups to the data dir and answers an API token of
// theirs.
func benchUser(tb testing.TB, data, name, roles, groups string) string {
	tb.Helper()
	args := []string{"user", "add", name, "--role", roles, "--password-stdin", "--data", data}
	if groups != "" {
		args = append(args, "--group", groups)
	}
	benchCLI(tb, "bench-password-"+name+"\n", args...)
	return strings.TrimSpace(benchCLI(tb, "", "token", "create", name, "--data", data))
}

// benchReviewers adds n reviewers, each alone in a group of its own (group i is "loadNN"),
// so that concurrent reviewers never race for one task; it answers their tokens.
func benchReviewers(tb testing.TB, data string, n int) []string {
	tb.Helper()
	tokens := make([]string, n)
	for i := range n {
		tokens[i] = benchUser(tb, data, fmt.Sprintf("rev%02d", i), "reviewer", benchGroup(i))
	}
	return tokens
}

func benchGroup(i int) string { return fmt.Sprintf("load%02d", i) }

// errTally counts what went wrong in a benchmark (non-2xx answers, failed calls, runs that
// did not complete) and keeps the first few for the failure message.
type errTally struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (e *errTally) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < 10 {
		e.first = append(e.first, fmt.Sprintf(format, args...))
	}
}

func (e *errTally) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

func (e *errTally) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("%d errors; the first: %s", e.n, strings.Join(e.first, "; "))
}

// apiCall is one call of /api/v1 with a token: the status (0 when the call failed), the
// body and the headers.
func apiCall(base, token, method, path string, body any) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+"/api/v1"+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := benchHTTP.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header, err
}

// apiDo is apiCall that tallies a failure or an answer other than want, and decodes a
// wanted answer into out (when not nil); it answers whether the call got want.
func apiDo(errs *errTally, base, token, method, path string, body any, want int, out any) bool {
	code, raw, _, err := apiCall(base, token, method, path, body)
	switch {
	case err != nil:
		errs.add("%s %s: %v", method, path, err)
		return false
	case code != want:
		errs.add("%s %s = %d: %s", method, path, code, bytes.TrimSpace(raw))
		return false
	case out != nil:
		if err := json.Unmarshal(raw, out); err != nil {
			errs.add("%s %s: %v", method, path, err)
			return false
		}
	}
	return true
}

// mustAPI is apiDo for the setup, where any error fails the benchmark.
func mustAPI(tb testing.TB, base, token, method, path string, body any, want int, out any) {
	tb.Helper()
	var errs errTally
	if !apiDo(&errs, base, token, method, path, body, want, out) {
		tb.Fatal(errs.String())
	}
}

// benchPublish creates a graph from its JSON document, publishes it and answers its id.
func benchPublish(tb testing.TB, base, token, doc string) string {
	tb.Helper()
	var g struct{ ID string }
	mustAPI(tb, base, token, http.MethodPost, "/graphs", map[string]any{"name": "bench", "definition": json.RawMessage(doc)}, http.StatusCreated, &g)
	mustAPI(tb, base, token, http.MethodPost, "/graphs/"+g.ID+"/versions", map[string]any{"note": "bench"}, http.StatusCreated, nil)
	return g.ID
}

// startRuns starts n runs of graph with `starters` concurrent callers; input(i) is the
// input of the i-th. It answers the run ids by i ("" for a start that failed, tallied).
func startRuns(errs *errTally, base, token, graph string, n, starters int, input func(i int) map[string]any) []string {
	ids := make([]string, n)
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				var out struct {
					RunID string `json:"run_id"`
				}
				if apiDo(errs, base, token, http.MethodPost, "/graphs/"+graph+"/runs", map[string]any{"input": input(i)}, http.StatusCreated, &out) {
					ids[i] = out.RunID
				}
			}
		}()
	}
	wg.Wait()
	return ids
}

// runRow is a run as the runs list shows it.
type runRow struct {
	RunID   string     `json:"run_id"`
	Status  string     `json:"status"`
	EndedAt *time.Time `json:"ended_at"`
}

// listRuns is every run of graph with status (all pages).
func listRuns(base, token, graph, status string) ([]runRow, error) {
	var all []runRow
	q := url.Values{"graph": {graph}, "limit": {"1000"}}
	if status != "" {
		q.Set("status", status)
	}
	for {
		code, raw, h, err := apiCall(base, token, http.MethodGet, "/runs?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET /runs = %d: %s", code, raw)
		}
		var page []runRow
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, err
		}
		all = append(all, page...)
		next := h.Get("X-Next-Page")
		if next == "" {
			return all, nil
		}
		q.Set("page", next)
	}
}

// waitRunsEnded waits until every run of ids has ended (runs list, per graph) or the
// deadline passes, and answers each run's row by id; a run missing from the answer had not
// ended.
func waitRunsEnded(tb testing.TB, base, token string, graphs []string, ids []string, limit time.Duration) map[string]runRow {
	tb.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		if id != "" {
			want[id] = true
		}
	}
	ended := map[string]runRow{}
	deadline := time.Now().Add(limit)
	for {
		var lastErr error
		for _, g := range graphs {
			for _, st := range []string{"completed", "failed", "cancelled"} {
				rows, err := listRuns(base, token, g, st)
				if err != nil {
					lastErr = err
					continue
				}
				for _, r := range rows {
					if want[r.RunID] && r.EndedAt != nil {
						ended[r.RunID] = r
					}
				}
			}
		}
		if len(ended) == len(want) || time.Now().After(deadline) {
			if lastErr != nil && len(ended) < len(want) {
				tb.Logf("listing runs: %v", lastErr)
			}
			return ended
		}
		time.Sleep(time.Second)
	}
}

// lastEnd is the latest end among rows.
func lastEnd(rows map[string]runRow) time.Time {
	var t time.Time
	for _, r := range rows {
		if r.EndedAt != nil && r.EndedAt.After(t) {
			t = *r.EndedAt
		}
	}
	return t
}

// checkCompleted tallies every run of ids that did not complete (by rows of
// waitRunsEnded), and every start that failed ("" ids were tallied when they failed).
func checkCompleted(errs *errTally, ids []string, rows map[string]runRow) {
	for _, id := range ids {
		switch r, ok := rows[id]; {
		case id == "":
		case !ok:
			errs.add("run %s did not end", id)
		case r.Status != "completed":
			errs.add("run %s ended %s", id, r.Status)
		}
	}
}

// percentileMS is the q-quantile of ds (nearest rank), in milliseconds.
func percentileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)) + 0.5)
	i = min(max(i-1, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

// benchDataDir is a fresh data dir for one benchmark.
func benchDataDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "data")
}
