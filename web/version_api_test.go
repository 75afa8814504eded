package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"trellis/actions"
	"trellis/store"
)

// splitDoc is a one-node graph; value changes from version to version.
func splitDoc(value int) string {
	return fmt.Sprintf(`{"format": "trellis.graph/v1", "name": "Split",
  "nodes": [{"id": "t", "kind": "transform", "config": {"value": "%d"}}], "edges": []}`, value)
}

// TestVersionTrafficOnEngine: on the embedded server, a 50/50 split sends each run started
// without a version where the hash of its id says, and records it as the run's version; a
// sticky key keeps one customer on one version; promote sends every run to one version;
// bad settings are 422 naming the field; developers may read but not set the split.
func TestVersionTrafficOnEngine(t *testing.T) {
	app := newEngineApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Split", splitDoc(1))
	ana.publish(id, "one")
	ana.saveDraft(id, splitDoc(2))
	ana.publish(id, "two")

	for body, field := range map[string]string{
		`{"splits": [{"version": 1, "percent": 50}, {"version": 2, "percent": 40}]}`: "splits",
		`{"splits": [{"version": 7, "percent": 100}]}`:                               "splits[0].version",
		`{"splits": [{"version": 2, "percent": 100}], "sticky": "input.("}`:          "sticky",
	} {
		r := ana.send(http.MethodPut, "/graphs/"+id+"/traffic", body)
		wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
		if ps := problemsOf(t, r); len(ps) == 0 || ps[0]["field"] != field {
			t.Errorf("%s: problems %v, want field %s", body, ps, field)
		}
	}
	dev := app.api("dev", store.RoleDeveloper)
	wantStatus(t, dev.send(http.MethodPut, "/graphs/"+id+"/traffic", `{"splits": []}`), http.StatusForbidden)

	splits := []store.TrafficSplit{{Version: 1, Percent: 50}, {Version: 2, Percent: 50}}
	r := ana.send(http.MethodPut, "/graphs/"+id+"/traffic", map[string]any{"splits": splits})
	wantStatus(t, r, http.StatusOK)
	got := dev.get("/graphs/" + id + "/traffic")
	wantStatus(t, got, http.StatusOK)
	if !strings.Contains(got.Body, `"splits":[{"version":1,"percent":50},{"version":2,"percent":50}]`) {
		t.Fatalf("GET traffic = %s", got.Body)
	}
	for range 6 {
		r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{}})
		wantStatus(t, r, http.StatusCreated)
		body := r.JSON(t)
		runID, v := body["run_id"].(string), int(body["version"].(float64))
		if want := actions.ChooseVersion(splits, runID); v != want {
			t.Errorf("run %s went to v%d, the split says v%d", runID, v, want)
		}
		if run := app.waitRun(runID); run.Version != v {
			t.Errorf("run %s records version %d, started on %d", runID, run.Version, v)
		}
	}

	r = ana.send(http.MethodPut, "/graphs/"+id+"/traffic", map[string]any{"splits": splits, "sticky": "input.customer"})
	wantStatus(t, r, http.StatusOK)
	key, _ := actions.StickyKey("input.customer", map[string]any{"customer": "ACME"})
	want := actions.ChooseVersion(splits, key)
	for range 4 {
		r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{"customer": "ACME"}})
		wantStatus(t, r, http.StatusCreated)
		if v := int(r.JSON(t)["version"].(float64)); v != want {
			t.Fatalf("customer ACME went to v%d, then v%d", want, v)
		}
	}

	// Promote from the Versions tab: every new run goes to version 1.
	page := app.signedIn("ana", store.RoleAnalyst)
	wantStatus(t, page.get("/graphs/"+id+"/versions"), http.StatusOK)
	pr := page.postForm("/graphs/"+id+"/traffic/promote", map[string][]string{"version": {"1"}})
	if pr.StatusCode != http.StatusSeeOther {
		t.Fatalf("promote = %d %s", pr.StatusCode, pr.Body)
	}
	for range 3 {
		r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{"customer": fmt.Sprint(time.Now().UnixNano())}})
		if v := int(r.JSON(t)["version"].(float64)); v != 1 {
			t.Fatalf("after promoting v1 a run went to v%d", v)
		}
	}
	// A form split that does not add up shows the tab again with the problem.
	bad := page.postForm("/graphs/"+id+"/traffic", map[string][]string{"percent_1": {"30"}, "percent_2": {"30"}})
	if bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "add up to 60") {
		t.Fatalf("a 30/30 form = %d %s", bad.StatusCode, bad.Body)
	}
}

// TestVersionStatsOnEngine: outcomes per version from runs whose results the test knows: v1
// (the refund approval) has one run decided "reject" and one waiting at its task; v2 (a
// transform) has three completed runs.
func TestVersionStatsOnEngine(t *testing.T) {
	app := newEngineApp(t)
	waiting := app.startRefund(10)
	decided := app.startRefund(20)
	task := app.waitTask(decided)
	bob := app.memberAPI("bob", "finance")
	// The task is stored a moment before its node waits for it; decide once the run takes it.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := bob.send(http.MethodPost, "/tasks/"+task.ID+"/decision", map[string]any{"outcome": "reject", "data": map[string]any{"amount": 0}})
		if r.StatusCode == http.StatusOK {
			break
		}
		if r.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("decision = %d %s", r.StatusCode, r.Body)
		}
	}
	app.waitRun(decided)
	app.waitTask(waiting)

	ana := app.api("ana", store.RoleAnalyst)
	ana.saveDraft("refund", splitDoc(3))
	ana.publish("refund", "no review")
	for range 3 {
		r := ana.send(http.MethodPost, "/graphs/refund/runs", map[string]any{"version": 2, "input": map[string]any{}})
		wantStatus(t, r, http.StatusCreated)
		app.waitRun(r.JSON(t)["run_id"].(string))
	}

	type stats struct {
		Versions []struct {
			Version     int            `json:"version"`
			Runs        map[string]int `json:"runs"`
			SuccessRate *float64       `json:"success_rate"`
			P50         *int64         `json:"duration_p50_ms"`
			P95         *int64         `json:"duration_p95_ms"`
			OpenTasks   int            `json:"open_tasks"`
			Decisions   map[string]int `json:"decisions"`
			Nodes       map[string]struct {
				Runs   int    `json:"runs"`
				Failed int    `json:"failed"`
				P95    *int64 `json:"duration_p95_ms"`
			} `json:"nodes"`
			Draining struct {
				Total  int `json:"total"`
				Oldest *struct {
					RunID string `json:"run_id"`
				} `json:"oldest"`
			} `json:"draining"`
		} `json:"versions"`
	}
	var s stats
	// Visibility records a run's end a moment after it ends: wait for the counts to settle.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := ana.get("/graphs/refund/versions/stats")
		wantStatus(t, r, http.StatusOK)
		s = stats{}
		if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Versions) == 2 && s.Versions[0].Runs["completed"] == 3 && s.Versions[1].Runs["completed"] == 1 && s.Versions[1].Runs["waiting"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never settled: %s", r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	v2, v1 := s.Versions[0], s.Versions[1]
	if v2.Version != 2 || len(v2.Runs) != 1 || v2.SuccessRate == nil || *v2.SuccessRate != 1 || v2.P50 == nil || v2.P95 == nil ||
		*v2.P50 > *v2.P95 || v2.OpenTasks != 0 || len(v2.Decisions) != 0 || v2.Draining.Total != 0 ||
		v2.Nodes["t"].Runs != 3 || v2.Nodes["t"].Failed != 0 || v2.Nodes["t"].P95 == nil {
		t.Errorf("v2 = %+v", v2)
	}
	if v1.Version != 1 || len(v1.Runs) != 2 || *v1.SuccessRate != 1 || v1.OpenTasks != 1 || v1.Decisions["reject"] != 1 ||
		len(v1.Decisions) != 1 || v1.Draining.Total != 1 || v1.Draining.Oldest == nil || v1.Draining.Oldest.RunID != waiting {
		t.Errorf("v1 = %+v", v1)
	}
	wantStatus(t, ana.get("/graphs/refund/versions/stats?since=yesterday"), http.StatusBadRequest)

	page := app.signedIn("ana", store.RoleAnalyst).get("/graphs/refund/versions")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`data-testid="outcome-1"`, `data-testid="outcome-2"`, `data-testid="compare-table"`, `data-testid="draining-1"`, waiting, "1 reject", "Node t: failed", "Node t: p95"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the Versions tab lacks %s", want)
		}
	}
}
