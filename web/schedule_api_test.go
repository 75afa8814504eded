package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/actions"
	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// lateResolver resolves firings with the test app's store, which exists only after the
// cluster has started.
type lateResolver struct {
	mu sync.Mutex
	t  *actions.Triggers
}

func (l *lateResolver) ResolveScheduled(ctx context.Context, graphID string, version int, input any, runID string) (int, *designer.Graph, error) {
	l.mu.Lock()
	t := l.t
	l.mu.Unlock()
	return t.ResolveScheduled(ctx, graphID, version, input, runID)
}

// newScheduleApp is a test app on the real engine whose firings resolve through its store.
func newScheduleApp(t *testing.T) (*testApp, *runCluster) {
	t.Helper()
	res := &lateResolver{}
	app, rc := newRunAppWith(t, engine.Deps{Schedules: res})
	app2 := newTestApp(t, withSetup(func(s *appSetup) {
		s.Deps.Users, s.Deps.Graphs, s.Deps.Triggers, s.Deps.Runs = app.DB, app.DB, app.DB, rc.eng
		s.Config.Now = time.Now
	}))
	app2.DB = app.DB
	res.mu.Lock()
	res.t = actions.NewTriggers(actions.New(app.DB, app.DB, nil, nil), app.DB, nil)
	res.mu.Unlock()
	return app2, rc
}

func TestScheduleAPI(t *testing.T) {
	app, rc := newScheduleApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	ana.publish(id, "v1")
	path := "/graphs/" + id + "/schedules"

	for name, tc := range map[string]struct {
		body   map[string]any
		status int
		field  string
		column float64
		path   string
	}{
		"bad cron":       {body: map[string]any{"cron": "0 25 * * *", "input": map[string]any{"name": "A"}}, status: 422, field: "cron", column: 3},
		"cron and every": {body: map[string]any{"cron": "* * * * *", "every": "1m"}, status: 422, field: "every"},
		"short interval": {body: map[string]any{"every": "10ms"}, status: 422, field: "every"},
		"unknown zone":   {body: map[string]any{"every": "1h", "timezone": "Mars/Olympus", "input": map[string]any{"name": "A"}}, status: 422, field: "timezone"},
		"bad input":      {body: map[string]any{"every": "1h", "input": map[string]any{"name": 3}}, status: 422, path: "/name"},
		"bad overlap":    {body: map[string]any{"every": "1h", "overlap": "sometimes", "input": map[string]any{"name": "A"}}, status: 422, field: "overlap"},
		"no version 7":   {body: map[string]any{"every": "1h", "version": 7, "input": map[string]any{"name": "A"}}, status: 404},
	} {
		r := ana.send(http.MethodPost, path, tc.body)
		if r.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", name, r.StatusCode, tc.status, r.Body)
			continue
		}
		if tc.status != 422 {
			continue
		}
		ps := problemsOf(t, r)
		if len(ps) == 0 || (tc.field != "" && ps[0]["field"] != tc.field) || (tc.path != "" && ps[0]["path"] != tc.path) ||
			(tc.column != 0 && ps[0]["column"] != tc.column) {
			t.Errorf("%s: problems %v", name, ps)
		}
	}

	r := ana.send(http.MethodPost, path, map[string]any{"cron": "0 0 9 * * MON-FRI", "timezone": "Europe/Berlin", "input": map[string]any{"name": "Ada"}, "overlap": "buffer_one", "version": 1})
	wantStatus(t, r, http.StatusCreated)
	sc := r.JSON(t)
	sid := sc["id"].(string)
	next := sc["next"].([]any)
	if len(next) != 5 {
		t.Fatalf("next firings: %v", sc)
	}
	for _, n := range next {
		at, err := time.Parse(time.RFC3339, n.(string))
		berlin, _ := time.LoadLocation("Europe/Berlin")
		if err != nil || at.In(berlin).Hour() != 9 || at.In(berlin).Weekday() == time.Saturday || at.In(berlin).Weekday() == time.Sunday {
			t.Fatalf("next firing %v is not 9:00 on a weekday in Berlin", n)
		}
	}

	// Run now starts a run that knows its schedule.
	wantStatus(t, ana.send(http.MethodPost, "/schedules/"+sid+"/trigger", nil), http.StatusAccepted)
	var runID string
	deadline := time.Now().Add(60 * time.Second)
	for runID == "" && time.Now().Before(deadline) {
		st, err := rc.eng.DescribeSchedule(context.Background(), sid)
		if err == nil && len(st.Recent) > 0 {
			runID = st.Recent[0].RunID
		}
		time.Sleep(200 * time.Millisecond)
	}
	run := rc.waitRun(t, runID, "it ends", runEnded)
	if run.Status != engine.RunCompleted || run.StartedBy != "schedule:"+sid {
		t.Fatalf("run now: %s started by %q", run.Status, run.StartedBy)
	}

	// Pause through PATCH; the page shows the schedule paused with its next firings.
	r = ana.send(http.MethodPatch, "/schedules/"+sid, map[string]any{"paused": true})
	wantStatus(t, r, http.StatusOK)
	if r.JSON(t)["spec"].(map[string]any)["paused"] != true {
		t.Fatalf("patched: %s", r.Body)
	}
	page := app.signedIn("ana").get("/graphs/" + id + "/triggers")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{"schedule-paused-" + sid, "schedule-next-" + sid, "0 0 9 * * MON-FRI", "Europe/Berlin"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("triggers page lacks %q", want)
		}
	}
	r = ana.send(http.MethodPatch, "/schedules/"+sid, map[string]any{"cron": "0 61 * * *"})
	wantStatus(t, r, http.StatusUnprocessableEntity)

	// A retired version cannot be scheduled.
	wantStatus(t, ana.send(http.MethodPost, "/graphs/"+id+"/versions/1/retire", nil), http.StatusOK)
	r = ana.send(http.MethodPost, path, map[string]any{"every": "1h", "version": 1, "input": map[string]any{"name": "A"}})
	wantStatus(t, r, http.StatusConflict)

	wantStatus(t, ana.send(http.MethodDelete, "/schedules/"+sid, nil), http.StatusNoContent)
	wantStatus(t, ana.send(http.MethodGet, "/schedules/"+sid, nil), http.StatusNotFound)

	// Reviewers manage no triggers.
	rev := app.api("rita", store.RoleReviewer)
	wantStatus(t, rev.send(http.MethodPost, path, map[string]any{"every": "1h"}), http.StatusForbidden)
}
