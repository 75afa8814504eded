package main

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"trellis/store"
)

// doctorGraph waits for the demo reviewer, then ends.
var doctorGraph = map[string]any{"format": "trellis.graph/v1",
	"nodes": []any{
		map[string]any{"id": "review", "kind": "approval", "config": map[string]any{"title": "Check {{ input.n }}", "assignee": "user:reviewer"}},
		map[string]any{"id": "done", "kind": "transform", "config": map[string]any{"value": "'checked ' + string(input.n)"}}},
	"edges": []any{map[string]any{"from": "review", "to": "done", "port": "approve"}}}

// TestDoctorCommand runs 'trellis doctor' beside a running serve, against its embedded
// frontend: without an address it says what it needs; a run whose task row was deleted is
// reported (exit 1), repaired with --repair (exit 0), then healthy; the task it stored again
// is decided through the API and the run completes.
func TestDoctorCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app := startServe(t, ctx, data)
	m := regexp.MustCompile(`Temporal server \(embedded\) listening on (\S+),`).FindStringSubmatch(app.out.String())
	if m == nil {
		t.Fatalf("no Temporal frontend address in serve's output:\n%s", app.out)
	}
	frontend := m[1]

	code, _, errOut := runCLI(t, "", "doctor", "--data", data)
	if code != 2 || !strings.Contains(errOut, "--temporal-address") || !strings.Contains(errOut, "listening on") {
		t.Fatalf("doctor without an address: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "", "doctor", "--data", t.TempDir(), "--temporal-address", frontend)
	if code != 1 || !strings.Contains(errOut, DecisionKeyFile) {
		t.Fatalf("doctor on another data dir: exit %d, %q", code, errOut)
	}

	tokens := cliTokens(t, data, "analyst", "reviewer")
	g := app.api(t, tokens["analyst"], http.MethodPost, "/graphs", map[string]any{"name": "Doctor check", "definition": doctorGraph}, http.StatusCreated)
	id := g["id"].(string)
	app.api(t, tokens["analyst"], http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "v1"}, http.StatusCreated)
	started := app.api(t, tokens["analyst"], http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{"n": 5}}, http.StatusCreated)
	runID := started["run_id"].(string)

	db := openData(t, data)
	var task *store.Task
	waitFor(t, "run "+runID+" opens its task", func() bool {
		var err error
		task, err = db.GetTaskByNode(ctx, runID, "review")
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	})
	code, out, errOut := runCLI(t, "", "doctor", "--data", data, "--temporal-address", frontend)
	if code != 0 || !strings.HasPrefix(lastLine(out), "healthy: ") {
		t.Fatalf("doctor before the fault: exit %d, %q, %q", code, out, errOut)
	}

	raw, err := sql.Open("sqlite3", filepath.Join(data, store.DBFileName)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DELETE FROM task_events WHERE task_id = ?`, `DELETE FROM tasks WHERE id = ?`} {
		if _, err := raw.Exec(q, task.ID); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut = runCLI(t, "", "doctor", "--data", data, "--temporal-address", frontend)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], "missing task (run "+runID+", node review)") ||
		!strings.HasPrefix(lines[1], "1 problem: ") || !strings.Contains(errOut, "trellis doctor --repair") {
		t.Fatalf("doctor after the fault: exit %d, %q, %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "doctor", "--repair", "--data", data, "--temporal-address", frontend)
	if code != 0 || !strings.Contains(out, "repaired: opened again as task") || !strings.Contains(lastLine(out), "1 repaired") {
		t.Fatalf("doctor --repair: exit %d, %q, %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "doctor", "--data", data, "--temporal-address", frontend)
	if code != 0 || !strings.HasPrefix(lastLine(out), "healthy: ") {
		t.Fatalf("doctor after the repair: exit %d, %q, %q", code, out, errOut)
	}

	back, err := db.GetTaskByNode(ctx, runID, "review")
	if err != nil || back.State != store.TaskOpen || back.Title != "Check 5" {
		t.Fatalf("the task after the repair: %+v, %v", back, err)
	}
	app.api(t, tokens["reviewer"], http.MethodPost, "/tasks/"+back.ID+"/decision", map[string]any{"outcome": "approve"}, http.StatusOK)
	if run := waitRunEnded(t, app, tokens["analyst"], runID); run["status"] != "completed" {
		t.Fatalf("the repaired run: %v", run)
	}

	cancel()
	app.waitStopped(t)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
