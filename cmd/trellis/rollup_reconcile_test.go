package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"trellis/engine"
)

// rollupServe is a serve for the rollup tests, with its frontend and API tokens.
type rollupServe struct {
	app      *servedApp
	cancel   context.CancelFunc
	frontend string
	tc       client.Client
}

func startRollupServe(t *testing.T, data string) *rollupServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &rollupServe{app: startServe(t, ctx, data), cancel: cancel}
	t.Cleanup(cancel)
	m := regexp.MustCompile(`Temporal server \(embedded\) listening on (\S+),`).FindStringSubmatch(s.app.out.String())
	if m == nil {
		t.Fatalf("no Temporal frontend address in serve's output:\n%s", s.app.out)
	}
	s.frontend = m[1]
	tc, err := dialDoctor(context.Background(), &temporalFlags{address: s.frontend, namespace: engine.Namespace}, data)
	if err != nil {
		t.Fatal(err)
	}
	s.tc = tc
	return s
}

func (s *rollupServe) stop(t *testing.T) {
	t.Helper()
	s.tc.Close()
	s.cancel()
	s.app.waitStopped(t)
}

// startWaiting starts a run of the graph's published version and waits until the version's
// stats count open runs waiting, this one among them (its report is in the rollup).
func (s *rollupServe) startWaiting(t *testing.T, token, graphID string, n, open int) string {
	t.Helper()
	started := s.app.api(t, token, http.MethodPost, "/graphs/"+graphID+"/runs", map[string]any{"input": map[string]any{"n": n}}, http.StatusCreated)
	id := started["run_id"].(string)
	waitFor(t, fmt.Sprintf("run %s waits and the rollup has %d open", id, open), func() bool {
		run := s.app.api(t, token, http.MethodGet, "/runs/"+id, nil, http.StatusOK)
		runs, _ := versionDraining(t, s.app, token, graphID)["runs"].(map[string]any)
		return run["status"] == "waiting" && runs["waiting"] == float64(open)
	})
	return id
}

func (s *rollupServe) terminate(t *testing.T, runID string) time.Time {
	t.Helper()
	if err := s.tc.TerminateWorkflow(context.Background(), runID, "", "stopped from outside"); err != nil {
		t.Fatal(err)
	}
	d, err := s.tc.DescribeWorkflowExecution(context.Background(), runID, "")
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetCloseTime().AsTime()
}

// version1 is version 1's entry of the graph's versions stats (the API the Versions tab reads).
func version1(t *testing.T, app *servedApp, token, graphID string) map[string]any {
	t.Helper()
	since := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	stats := app.api(t, token, http.MethodGet, "/graphs/"+graphID+"/versions/stats?since="+since, nil, http.StatusOK)
	vs, _ := stats["versions"].([]any)
	for _, v := range vs {
		if m := v.(map[string]any); m["version"] == float64(1) {
			return m
		}
	}
	t.Fatalf("no version 1 in %v", stats)
	return nil
}

func versionDraining(t *testing.T, app *servedApp, token, graphID string) map[string]any {
	t.Helper()
	d, _ := version1(t, app, token, graphID)["draining"].(map[string]any)
	return d
}

func failedRuns(t *testing.T, app *servedApp, token, graphID string) float64 {
	t.Helper()
	runs, _ := version1(t, app, token, graphID)["runs"].(map[string]any)
	n, _ := runs["failed"].(float64)
	return n
}

// TestRollupReconcileCommand: runs of a published version terminated through the Temporal
// client stay open in the versions stats. 'trellis doctor' names such a run and exits 1,
// changing nothing; --repair records it as failed; doctor is then healthy. serve (its
// background pass made quick) records one terminated while serve was down once it starts,
// and one terminated while it runs on a later pass, and logs both.
func TestRollupReconcileCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	data := t.TempDir()
	rollupSchedule = engine.RollupSchedule{First: time.Hour, Every: time.Hour}
	t.Cleanup(func() { rollupSchedule = engine.RollupSchedule{} })
	s := startRollupServe(t, data)
	tokens := cliTokens(t, data, "analyst", "reviewer")
	an := tokens["analyst"]
	g := s.app.api(t, an, http.MethodPost, "/graphs", map[string]any{"name": "Rollup check", "definition": doctorGraph}, http.StatusCreated)
	graphID := g["id"].(string)
	s.app.api(t, an, http.MethodPost, "/graphs/"+graphID+"/versions", map[string]any{"note": "v1"}, http.StatusCreated)
	killed := s.startWaiting(t, an, graphID, 1, 1)
	waiting := s.startWaiting(t, an, graphID, 2, 2)

	s.terminate(t, killed)
	if d := versionDraining(t, s.app, an, graphID); d["total"] != float64(2) {
		t.Fatalf("draining right after the termination: %v, want the terminated run still open", d)
	}
	code, out, errOut := runCLI(t, "", "doctor", "--data", data, "--temporal-address", s.frontend)
	if code != 1 || !strings.Contains(out, "open run in the version rollup "+killed+" (graph "+graphID+", version 1, waiting): the run ended (Terminated)") ||
		!strings.HasPrefix(lastLine(out), "2 problems: 1 open task whose run no longer waits on it") ||
		!strings.HasSuffix(lastLine(out), "; and 1 run the version rollup holds open has ended without reporting it (2 open runs checked); 1 not repaired") {
		t.Fatalf("doctor: exit %d\n%s\n%s", code, out, errOut)
	}
	if d := versionDraining(t, s.app, an, graphID); d["total"] != float64(2) || failedRuns(t, s.app, an, graphID) != 0 {
		t.Fatalf("doctor without --repair changed the rollup: %v", d)
	}
	code, out, errOut = runCLI(t, "", "doctor", "--repair", "--data", data, "--temporal-address", s.frontend)
	if code != 0 || !strings.Contains(out, killed+" (graph") || !strings.Contains(out, "repaired: recorded as failed") {
		t.Fatalf("doctor --repair: exit %d\n%s\n%s", code, out, errOut)
	}
	d := versionDraining(t, s.app, an, graphID)
	oldest, _ := d["oldest"].(map[string]any)
	if d["total"] != float64(1) || oldest["run_id"] != waiting || failedRuns(t, s.app, an, graphID) != 1 {
		t.Fatalf("stats after the repair: draining %v, failed %v", d, failedRuns(t, s.app, an, graphID))
	}
	code, out, errOut = runCLI(t, "", "doctor", "--data", data, "--temporal-address", s.frontend)
	if code != 0 || !strings.HasPrefix(lastLine(out), "healthy: ") || !strings.Contains(lastLine(out), "the version rollup agrees with the runs (1 open run)") {
		t.Fatalf("doctor after the repair: exit %d\n%s\n%s", code, out, errOut)
	}

	// serve's own pass: a run terminated while serve is down (here: while its pass waits an
	// hour), recorded soon after the next start; then one terminated while serve runs.
	s.terminate(t, waiting)
	s.stop(t)
	rollupSchedule = engine.RollupSchedule{First: time.Second, Every: time.Second}
	s = startRollupServe(t, data)
	waitFor(t, "serve records the end of "+waiting, func() bool {
		return versionDraining(t, s.app, an, graphID)["total"] == float64(0) && failedRuns(t, s.app, an, graphID) == 2
	})
	later := s.startWaiting(t, an, graphID, 3, 1)
	s.terminate(t, later)
	waitFor(t, "serve records the end of "+later, func() bool {
		return versionDraining(t, s.app, an, graphID)["total"] == float64(0) && failedRuns(t, s.app, an, graphID) == 3
	})
	for _, id := range []string{waiting, later} {
		if !strings.Contains(s.app.out.String(), `msg="open run in the version rollup `+id) {
			t.Fatalf("serve did not log the end of %s:\n%s", id, s.app.out)
		}
	}
	s.stop(t)
}
