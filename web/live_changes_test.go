package web

import (
	"net/http"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/store"
)

// TestChangesStream: signed-in pages hold the stream of changes instead of polling, and a
// run that starts and ends sends "changed" on it; the page of a live run holds only its own
// stream; the stream needs a sign-in.
func TestChangesStream(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	g := ana.createGraph("Greeting", greetDoc)
	ana.publish(g, "first")

	if r := app.client().get("/live/changes"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous: %d, want a redirect to sign in", r.StatusCode)
	}
	dev := app.signedIn("dev", store.RoleDeveloper)
	page := dev.get("/runs")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`hx-ext="sse" sse-connect="/live/changes"`, `hx-trigger="load, sse:changed"`, `htmx-ext-sse`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the runs page lacks %s", want)
		}
	}
	if strings.Contains(page.Body, `hx-trigger="every`) || strings.Contains(page.Body, `, every`) {
		t.Errorf("the runs page still polls")
	}

	s := openEvents(t, dev, "/live/changes")
	if s.resp.StatusCode != http.StatusOK || s.resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", s.resp.StatusCode, s.resp.Header.Get("Content-Type"))
	}
	id := ana.startRun(g, map[string]any{"name": "Ada"})
	rc.waitRun(t, id, "ended", func(r *engine.Run) bool { return r.EndedAt != nil })
	if ev, ok := s.next(t); !ok || ev.name != "changed" {
		t.Fatalf("after a run: %+v %v, want a changed event", ev, ok)
	}

	// A live run's page holds its own stream, and no second one.
	svc := newHeldService(t)
	held := ana.createGraph("Nap then greet", strings.Replace(napDoc, "$URL", svc.URL, 1))
	ana.publish(held, "first")
	live := ana.startRun(held, map[string]any{"name": "Ada"})
	rc.waitRun(t, live, "calling", func(r *engine.Run) bool { return r.Nodes["pause"].Status == engine.NodeRunning })
	body := dev.get("/runs/" + live).Body
	if n := strings.Count(body, "sse-connect="); n != 1 || !strings.Contains(body, `sse-connect="/runs/`+live+`/events`) {
		t.Errorf("a live run's page has %d streams, want only its own", n)
	}
}
