package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/store"
)

func runWantBody(tb testing.TB, r *testResponse, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Body, w) {
			tb.Errorf("%s %s lacks %s", r.Request.Method, r.Request.URL.RequestURI(), w)
		}
	}
}

func runWantNoBody(tb testing.TB, r *testResponse, nots ...string) {
	tb.Helper()
	for _, w := range nots {
		if strings.Contains(r.Body, w) {
			tb.Errorf("%s %s shows %s", r.Request.Method, r.Request.URL.RequestURI(), w)
		}
	}
}

// TestRunPages: the runs list and a run's page on the real engine: a run of an old version
// shows that version's graph; the inspector, fragments, run again, cancel and the history
// download; who sees which buttons.
func TestRunPages(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	greet := ana.createGraph("Greeting", greetDoc)
	ana.publish(greet, "first")
	old := ana.startRun(greet, map[string]any{"name": "Ada"})
	rc.waitRun(t, old, "ended", runEnded)
	ana.saveDraft(greet, greetDocV2)
	ana.publish(greet, "with a pause")
	paused := ana.startRun(greet, map[string]any{"name": "Cy"})
	rc.waitRun(t, paused, "pausing", func(r *engine.Run) bool { return r.Nodes["pause"].Status == engine.NodeRunning })
	ana.waitListed("", 2)

	dev := app.signedIn("dev", store.RoleDeveloper)
	adm := app.signedIn("root", store.RoleAdmin)
	analyst := app.signedIn("ana")

	t.Run("list", func(t *testing.T) {
		r := dev.get("/runs")
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="run-row-`+old+`"`, `data-testid="run-row-`+paused+`"`, ">Greeting</a>", ">v1</a>", ">v2</a>",
			"<td>ana</td>", `hx-trigger="sse:changed"`, `sse-connect="/live/changes"`, `<option value="`+greet+`">Greeting</option>`)
		r = dev.get("/runs?status=completed&graph=" + greet)
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="run-row-`+old+`"`, `<option value="completed" selected>`, `data-testid="run-filter-clear"`)
		runWantNoBody(t, r, `data-testid="run-row-`+paused+`"`, `hx-trigger="sse:changed" hx-swap`)
		r = dev.get("/runs?version=7")
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="run-list-empty"`, "No runs match these filters.")
		r = dev.get("/runs?status=sleeping")
		wantStatus(t, r, http.StatusBadRequest)
		runWantBody(t, r, `data-testid="run-list-error"`, "is not a run status")
		// The table body alone, for polling.
		r = dev.get("/runs", "HX-Request", "true", "HX-Target", "run-rows")
		wantStatus(t, r, http.StatusOK)
		if !strings.HasPrefix(strings.TrimSpace(r.Body), `<tbody id="run-rows"`) {
			t.Errorf("rows fragment = %.200s", r.Body)
		}
	})

	t.Run("old version's graph", func(t *testing.T) {
		r := dev.get("/runs/" + old)
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="node-greet"`, `data-testid="node-shout"`, "status-completed", `data-status="completed"`,
			"Version 1", "/graphs/"+greet+"/diff?from=1&amp;to=2", `data-testid="run-history"`, `data-testid="tl-row-shout"`,
			"HELLO ADA", `&#34;name&#34;: &#34;Ada&#34;`)
		// v2 added the pause node; the run of v1 does not have it.
		runWantNoBody(t, r, `data-testid="node-pause"`, `data-testid="run-cancel"`, `data-testid="run-rerun"`, `hx-trigger="every`)
	})

	t.Run("running run", func(t *testing.T) {
		r := dev.get("/runs/" + paused)
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="node-pause"`, `class="gnode gnode-kind-wait status-running"`, `sse-connect="/runs/`+paused+`/events?v=`,
			`data-testid="run-cancel"`, "Running for", `data-testid="run-output-none"`)
		runWantNoBody(t, r, `data-testid="run-compare"`)
	})

	t.Run("inspector and fragment", func(t *testing.T) {
		r := dev.get("/runs/" + old + "?node=shout&from=0&to=5")
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="inspector-node">Shout`, "upper(nodes.greet.output)", `data-testid="inspector-output">&#34;HELLO ADA&#34;`,
			`class="gnode gnode-kind-transform status-completed is-selected"`, `data-testid="timeline-reset"`)
		r = dev.get("/runs/"+old+"?node=shout", "HX-Request", "true", "HX-Target", "run-live")
		wantStatus(t, r, http.StatusOK)
		if !strings.HasPrefix(strings.TrimSpace(r.Body), `<div id="run-live"`) || strings.Contains(r.Body, "<html") ||
			strings.Contains(r.Body, `id="run-io"`) {
			t.Errorf("live fragment = %.300s", r.Body)
		}
		// The poll that finds the run ended brings the output along, once.
		r = dev.get("/runs/"+old, "HX-Request", "true", "HX-Target", "run-live", "HX-Trigger", "run-live")
		runWantBody(t, r, `id="run-io"`, `hx-swap-oob="true"`)
		// A node that does not exist selects nothing.
		r = dev.get("/runs/" + old + "?node=nope&from=x")
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, "No node selected.")
	})

	t.Run("not found", func(t *testing.T) {
		wantStatus(t, dev.get("/runs/run-00000000000000000000"), http.StatusNotFound)
		wantStatus(t, dev.get("/runs/%2E%2E"), http.StatusNotFound)
	})

	t.Run("history download", func(t *testing.T) {
		r := dev.get("/runs/" + old + "/history")
		wantStatus(t, r, http.StatusOK)
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("download headers: %v", r.Header)
		}
	})

	t.Run("run again", func(t *testing.T) {
		wantStatus(t, dev.postForm("/runs/"+old+"/rerun", nil), http.StatusForbidden)
		r := adm.get("/runs/" + old)
		runWantBody(t, r, `data-testid="run-rerun"`)
		r = analyst.postForm("/runs/"+old+"/rerun", nil)
		wantStatus(t, r, http.StatusSeeOther)
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil || !strings.HasPrefix(loc.Path, "/runs/run-") || loc.Query().Get("from_run") != old {
			t.Fatalf("rerun went to %q", r.Header.Get("Location"))
		}
		again := strings.TrimPrefix(loc.Path, "/runs/")
		run := rc.waitRun(t, again, "ended", runEnded)
		if run.Version != 1 || run.Status != engine.RunCompleted || run.Nodes["shout"].Output != "HELLO ADA" || run.StartedBy != "ana" {
			t.Errorf("the run again = %+v", run)
		}
		runWantBody(t, analyst.get(loc.RequestURI()), "started with the same input as "+old)
		// A retired version starts no runs.
		if err := app.DB.RetireVersion(context.Background(), greet, 1); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, analyst.postForm("/runs/"+old+"/rerun", nil), http.StatusConflict)
		r = adm.get("/runs/" + old)
		runWantBody(t, r, `data-testid="run-rerun-refusal"`, "retired")
		runWantNoBody(t, r, `data-testid="run-rerun"`)
	})

	t.Run("cancel", func(t *testing.T) {
		wantStatus(t, analyst.postForm("/runs/"+paused+"/cancel", nil), http.StatusForbidden)
		r := dev.postForm("/runs/"+paused+"/cancel", url.Values{"reason": {"testing"}})
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/runs/"+paused+"?notice=cancel" {
			t.Errorf("cancel went to %q", loc)
		}
		rc.waitRun(t, paused, "cancelled", runEnded)
		r = dev.get("/runs/" + paused + "?notice=cancel")
		runWantBody(t, r, "The run was cancelled by dev at ", `data-status="cancelled"`, "status-cancelled")
		runWantNoBody(t, r, `data-testid="run-cancel"`)
		wantStatus(t, dev.postForm("/runs/"+paused+"/cancel", nil), http.StatusConflict)
		// Without the CSRF token the form is refused.
		wantStatus(t, dev.postFormRaw("/runs/"+paused+"/cancel", nil), http.StatusForbidden)
	})
}
