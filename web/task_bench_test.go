package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"trellis/store"
)

// seedTasks100k fills the app's store with 100,000 tasks over 500 users, 40 groups and 20
// graphs, a fifth of them decided, and creates reviewer u7 (in groups g0, g2, g4 and g6),
// whose inbox holds about 100 tasks of their own and 5,000 of their groups.
func seedTasks100k(tb testing.TB, app *testApp) {
	tb.Helper()
	ctx := context.Background()
	if _, _, err := app.DB.UpsertUser(ctx, store.UserInput{Name: "u7", Password: testPassword,
		Roles: []string{store.RoleReviewer}, Groups: []string{"g0", "g2", "g4", "g6"}}); err != nil {
		tb.Fatal(err)
	}
	start := app.Clock.Now().Add(-100_000 * time.Minute)
	batch := make([]store.NewTask, 0, 5000)
	for i := range 100_000 {
		assignee := fmt.Sprintf("user:u%d", i%500)
		if i%2 == 0 {
			assignee = fmt.Sprintf("group:g%d", i%40)
		}
		t := store.NewTask{RunID: fmt.Sprintf("run-%d", i), NodeID: "review", GraphID: fmt.Sprintf("graph-%d", i%20), Version: 1,
			Title: fmt.Sprintf("Refund %d", i), Instructions: "Check the **amount**.", Assignee: assignee,
			Outcomes: []string{"approve", "reject"}, CreatedAt: start.Add(time.Duration(i) * time.Minute),
			Context: []byte(`{"input": {"amount": 12}, "nodes": {}}`)}
		if i%3 == 0 {
			due := t.CreatedAt.Add(24 * time.Hour)
			t.DueAt = &due
		}
		batch = append(batch, t)
		if len(batch) == cap(batch) {
			if _, err := app.DB.CreateTasks(ctx, batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	u7, err := app.DB.UserByName(ctx, "u7")
	if err != nil {
		tb.Fatal(err)
	}
	// Decide every fifth task of u7's: enough for a done tab, without a transaction per task
	// for the whole store.
	page, err := app.DB.ListTasks(ctx, store.TaskFilter{User: u7, View: store.TaskViewOpen, Limit: store.MaxTaskPageSize})
	if err != nil {
		tb.Fatal(err)
	}
	for i, t := range page.Tasks {
		if i%5 == 0 {
			if err := app.DB.CloseTask(ctx, t.RunID, t.NodeID, store.TaskDecision{Outcome: "approve", DecidedBy: "u7"}); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// serverTimes requests path through the handler (no network) on every iteration and
// reports the median and 99th percentile of the time the server took.
func serverTimes(b *testing.B, h http.Handler, path string, headers ...string) {
	b.Helper()
	var times []time.Duration
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		times = append(times, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
		}
	}
	slices.Sort(times)
	pct := func(p int) float64 {
		i := min((p*len(times)+99)/100-1, len(times)-1)
		return float64(times[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(50), "p50_ms")
	b.ReportMetric(pct(99), "p99_ms")
}

// BenchmarkInboxPage100k is the inbox page of a reviewer with groups, in a store of 100,000
// tasks: each tab, the full page with layout, counts and graph filter.
func BenchmarkInboxPage100k(b *testing.B) {
	app, _ := newTaskApp(b, false)
	seedTasks100k(b, app)
	c := app.client()
	c.login("u7", testPassword)
	cookie := SessionCookie + "=" + c.cookie(SessionCookie)
	h := app.Server.Handler()
	for _, tab := range []string{"mine", "groups", "done", "groups-overdue"} {
		path := "/inbox?tab=" + tab
		if tab == "groups-overdue" {
			path = "/inbox?tab=groups&overdue=1&graph=graph-4"
		}
		b.Run(tab, func(b *testing.B) { serverTimes(b, h, path, "Cookie", cookie) })
	}
}

// BenchmarkTasksAPI100k is GET /api/v1/tasks for the same reviewer and store.
func BenchmarkTasksAPI100k(b *testing.B) {
	app, _ := newTaskApp(b, false)
	seedTasks100k(b, app)
	auth := "Bearer " + app.token("u7")
	h := app.Server.Handler()
	for _, q := range []struct{ name, query string }{{"open", "state=open"}, {"mine", "state=open&mine=true"}, {"done", "state=done"}} {
		b.Run(q.name, func(b *testing.B) { serverTimes(b, h, "/api/v1/tasks?"+q.query, "Authorization", auth) })
	}
}
