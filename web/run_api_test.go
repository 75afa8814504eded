package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/store"
)

// waitDoc is a graph whose run waits an hour: it stays running until cancelled.
const waitDoc = `{"format": "trellis.graph/v1", "name": "Long wait",
  "nodes": [{"id": "long", "kind": "wait", "config": {"duration": "1h"}},
            {"id": "after", "kind": "transform", "config": {"value": "'woke'"}}],
  "edges": [{"from": "long", "to": "after"}]}`

type apiRunRow struct {
	RunID     string  `json:"run_id"`
	Graph     string  `json:"graph"`
	Version   int     `json:"version"`
	Status    string  `json:"status"`
	StartedBy string  `json:"started_by"`
	StartedAt string  `json:"started_at"`
	EndedAt   *string `json:"ended_at"`
}

func runRowsOf(tb testing.TB, r *testResponse) []apiRunRow {
	tb.Helper()
	var rows []apiRunRow
	if err := json.Unmarshal([]byte(r.Body), &rows); err != nil {
		tb.Fatalf("not a list of runs: %v\n%s", err, r.Body)
	}
	return rows
}

// TestRunAPI is the runs API of api.md on the real engine: list with filters and pages,
// one run, its timeline and history, cancel; and who may do what.
func TestRunAPI(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	dev := app.api("dev", store.RoleDeveloper)
	rev := app.api("rita", store.RoleReviewer)

	greet := ana.createGraph("Greeting", greetDoc)
	ana.publish(greet, "first")
	long := ana.createGraph("Long wait", waitDoc)
	ana.publish(long, "first")
	g1 := ana.startRun(greet, map[string]any{"name": "Ada"})
	g2 := ana.startRun(greet, map[string]any{"name": "Bob"})
	w1 := ana.startRun(long, map[string]any{})
	rc.waitRun(t, g1, "ended", runEnded)
	rc.waitRun(t, g2, "ended", runEnded)
	rc.waitRun(t, w1, "waiting on its timer", func(r *engine.Run) bool { return r.Nodes["long"].Status == engine.NodeRunning })

	t.Run("list", func(t *testing.T) {
		rows := runRowsOf(t, dev.waitListed("", 3))
		byID := map[string]apiRunRow{}
		for _, r := range rows {
			byID[r.RunID] = r
		}
		if r := byID[g1]; r.Graph != greet || r.Version != 1 || r.Status != engine.RunCompleted || r.StartedBy != "ana" ||
			r.StartedAt == "" || r.EndedAt == nil {
			t.Errorf("row of %s = %+v", g1, r)
		}
		if r := byID[w1]; r.Status != engine.RunRunning || r.EndedAt != nil {
			t.Errorf("row of the waiting run = %+v", r)
		}
		if rows[0].RunID != w1 {
			t.Errorf("first row = %s, want the newest run %s", rows[0].RunID, w1)
		}
	})

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			query string
			want  []string
		}{
			{"graph=" + greet, []string{g2, g1}},
			{"graph=" + greet + "&version=1", []string{g2, g1}},
			{"graph=" + greet + "&version=2", nil},
			{"status=running", []string{w1}},
			{"status=completed&graph=" + long, nil},
			{"graph=" + long + "&status=running&version=1", []string{w1}},
		}
		for _, tc := range tests {
			// Runs that ended are listed by when they ended, which the test does not control.
			var got []string
			for _, r := range runRowsOf(t, dev.waitListed(tc.query, len(tc.want))) {
				got = append(got, r.RunID)
			}
			slices.Sort(got)
			slices.Sort(tc.want)
			if !slices.Equal(got, tc.want) {
				t.Errorf("?%s: runs %v, want %v", tc.query, got, tc.want)
			}
		}
	})

	t.Run("bad filters", func(t *testing.T) {
		for _, q := range []string{"status=sleeping", "graph=Not%20an%20id", "version=x", "version=0", "limit=0",
			"limit=5000", "page=%21%21not-a-token"} {
			wantAPIError(t, dev.get("/runs?"+q), http.StatusBadRequest, "bad_request")
		}
	})

	t.Run("pages", func(t *testing.T) {
		r := dev.get("/runs?limit=2")
		wantStatus(t, r, http.StatusOK)
		tok := r.Header.Get("X-Next-Page")
		link := r.Header.Get("Link")
		if len(runRowsOf(t, r)) != 2 || tok == "" || !strings.Contains(link, `rel="next"`) || !strings.Contains(link, "page="+tok) {
			t.Fatalf("first page: %d rows, X-Next-Page %q, Link %q", len(runRowsOf(t, r)), tok, link)
		}
		seen := []string{}
		for _, row := range runRowsOf(t, r) {
			seen = append(seen, row.RunID)
		}
		r = dev.get("/runs?limit=2&page=" + url.QueryEscape(tok))
		wantStatus(t, r, http.StatusOK)
		rows := runRowsOf(t, r)
		if len(rows) != 1 || r.Header.Get("X-Next-Page") != "" {
			t.Fatalf("second page = %s, next %q; want the one run left", r.Body, r.Header.Get("X-Next-Page"))
		}
		seen = append(seen, rows[0].RunID)
		slices.Sort(seen)
		want := []string{g1, g2, w1}
		slices.Sort(want)
		if !slices.Equal(seen, want) {
			t.Errorf("pages hold %v, want each run once: %v", seen, want)
		}
	})

	t.Run("one run", func(t *testing.T) {
		r := dev.get("/runs/" + g1)
		wantStatus(t, r, http.StatusOK)
		var run engine.Run
		if err := json.Unmarshal([]byte(r.Body), &run); err != nil {
			t.Fatal(err)
		}
		if run.Status != engine.RunCompleted || run.Graph != greet || run.Version != 1 ||
			run.Nodes["shout"].Status != engine.NodeCompleted || run.Nodes["shout"].Output != "HELLO ADA" {
			t.Errorf("run = %s", r.Body)
		}
		wantAPIError(t, dev.get("/runs/run-00000000000000000000"), http.StatusNotFound, "not_found")
		wantAPIError(t, dev.get("/runs/bad%20id"), http.StatusNotFound, "not_found")
	})

	t.Run("timeline", func(t *testing.T) {
		r := dev.get("/runs/" + g1 + "/timeline")
		wantStatus(t, r, http.StatusOK)
		var entries []map[string]any
		if err := json.Unmarshal([]byte(r.Body), &entries); err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0]["node"] != "greet" || entries[1]["node"] != "shout" {
			t.Fatalf("timeline = %s", r.Body)
		}
		for _, k := range []string{"node", "kind", "attempt", "status", "scheduled_at", "started_at", "ended_at", "error"} {
			if _, ok := entries[0][k]; !ok {
				t.Errorf("timeline entries lack %q: %s", k, r.Body)
			}
		}
		if entries[0]["kind"] != "transform" || entries[0]["status"] != "completed" || entries[0]["attempt"] != 1.0 {
			t.Errorf("first entry = %v", entries[0])
		}
		wantAPIError(t, dev.get("/runs/run-00000000000000000000/timeline"), http.StatusNotFound, "not_found")
	})

	t.Run("history", func(t *testing.T) {
		r := dev.get("/runs/" + g1 + "/history")
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(r.Header.Get("Content-Disposition"), g1+"-history.json") ||
			!strings.Contains(r.Body, `"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"`) {
			t.Errorf("history: %s\n%.300s", r.Header.Get("Content-Disposition"), r.Body)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		wantAPIError(t, ana.send(http.MethodPost, "/runs/"+w1+"/cancel", nil), http.StatusForbidden, "forbidden")
		wantAPIError(t, dev.send(http.MethodPost, "/runs/"+w1+"/cancel", "{not json"), http.StatusBadRequest, "bad_request")
		wantAPIError(t, dev.send(http.MethodPost, "/runs/"+w1+"/cancel", map[string]any{"reason": strings.Repeat("x", 501)}),
			http.StatusBadRequest, "bad_request")
		r := dev.send(http.MethodPost, "/runs/"+w1+"/cancel", map[string]any{"reason": "no longer needed"})
		wantStatus(t, r, http.StatusAccepted)
		run := rc.waitRun(t, w1, "cancelled", runEnded)
		if run.Status != engine.RunCancelled || run.Nodes["long"].Status != engine.NodeCancelled {
			t.Errorf("cancelled run = %+v", run)
		}
		wantAPIError(t, dev.send(http.MethodPost, "/runs/"+w1+"/cancel", nil), http.StatusConflict, "conflict")
		wantAPIError(t, dev.send(http.MethodPost, "/runs/"+g1+"/cancel", nil), http.StatusConflict, "conflict")
		wantAPIError(t, dev.send(http.MethodPost, "/runs/run-00000000000000000000/cancel", nil), http.StatusNotFound, "not_found")
		// An empty body is fine: the reason is optional.
		w2 := ana.startRun(long, map[string]any{})
		rc.waitRun(t, w2, "running", func(r *engine.Run) bool { return r.Nodes["long"].Status == engine.NodeRunning })
		wantStatus(t, dev.send(http.MethodPost, "/runs/"+w2+"/cancel", nil), http.StatusAccepted)
		rc.waitRun(t, w2, "cancelled", runEnded)
		tl := dev.get("/runs/" + w1 + "/timeline")
		if !strings.Contains(tl.Body, `"status":"cancelled"`) {
			t.Errorf("timeline of the cancelled run = %s", tl.Body)
		}
	})

	t.Run("roles", func(t *testing.T) {
		for _, p := range []string{"/runs", "/runs/" + g1, "/runs/" + g1 + "/timeline", "/runs/" + g1 + "/history"} {
			wantAPIError(t, rev.get(p), http.StatusForbidden, "forbidden")
			wantStatus(t, ana.get(p), http.StatusOK)
			anon := app.client().get("/api/v1" + p)
			wantAPIError(t, anon, http.StatusUnauthorized, "unauthorized")
		}
	})
}

// TestRunRoutesWithoutEngine: with no engine the run routes answer 503, after the role checks.
func TestRunRoutesWithoutEngine(t *testing.T) {
	app := newTestApp(t)
	dev := app.api("dev", store.RoleDeveloper)
	rev := app.api("rita", store.RoleReviewer)
	wantAPIError(t, dev.get("/runs"), http.StatusServiceUnavailable, "unavailable")
	wantAPIError(t, rev.get("/runs"), http.StatusForbidden, "forbidden")
	wantAPIError(t, dev.send(http.MethodPost, "/runs/run-1/cancel", nil), http.StatusServiceUnavailable, "unavailable")
	page := app.signedIn("dev").get("/runs")
	wantStatus(t, page, http.StatusServiceUnavailable)
}
