package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// twoNapsDoc holds two http nodes open one after the other, each on its own service, so a
// test can let one finish while the run is still going.
const twoNapsDoc = `{"format": "trellis.graph/v1", "name": "Two naps",
  "nodes": [{"id": "first", "kind": "http", "label": "First", "config": {"url": "$ONE/nap"}},
            {"id": "second", "kind": "http", "label": "Second", "config": {"url": "$TWO/nap"}}],
  "edges": [{"from": "first", "to": "second"}]}`

// sseEvent is one event read from a stream.
type sseEvent struct {
	name, id, data string
}

// sseStream reads the events of an open stream as they come.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// openEvents opens path as an event stream with c's session; it closes when the test ends.
func openEvents(t *testing.T, c *testClient, path string, headers ...string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := c.request(http.MethodGet, path, nil, headers...).WithContext(ctx)
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 64), cancel: cancel}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	go func() {
		defer close(s.events)
		r := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.name != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next is the next event; ok is false when the stream ended.
func (s *sseStream) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(60 * time.Second):
		t.Fatal("no event within a minute")
	}
	return sseEvent{}, false
}

var sseConnect = regexp.MustCompile(`sse-connect="([^"]+)"`)

// TestRunEventsFollowARun: the page of a running run connects to its events with the state
// it shows, so nothing is sent until a node changes; then one small event names that node
// (its new status and timeline bars); a connection that shows an older state gets a snapshot
// first; the run's end is a snapshot that ends the stream.
func TestRunEventsFollowARun(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	one, two := newHeldService(t), newHeldService(t)
	doc := strings.NewReplacer("$ONE", one.URL, "$TWO", two.URL).Replace(twoNapsDoc)
	g := ana.createGraph("Two naps", doc)
	ana.publish(g, "first")
	id := ana.startRun(g, nil)
	rc.waitRun(t, id, "first is running", func(r *engine.Run) bool { return r.Nodes["first"].Status == engine.NodeRunning })

	dev := app.signedIn("dev", store.RoleDeveloper)
	page := dev.get("/runs/" + id)
	wantStatus(t, page, http.StatusOK)
	m := sseConnect.FindStringSubmatch(page.Body)
	if m == nil || strings.Contains(page.Body, "every 2s") {
		t.Fatalf("the page of a running run has no event stream (or still polls):\n%s", page.Body[:min(len(page.Body), 2000)])
	}
	events := strings.ReplaceAll(m[1], "&amp;", "&")
	s := openEvents(t, dev, events)
	if ct := s.resp.Header.Get("Content-Type"); s.resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("events: %d %s", s.resp.StatusCode, ct)
	}
	stale := openEvents(t, dev, "/runs/"+id+"/events?v=old")
	if ev, _ := stale.next(t); ev.name != "snapshot" {
		t.Errorf("a page showing another state got %q first, want a snapshot", ev.name)
	}

	one.let()
	// Events before it may tell of first's call starting (the page was drawn just before).
	var d runEventData
	for d.Nodes["first"].Status != engine.NodeCompleted {
		ev, ok := s.next(t)
		if !ok || ev.name != "run" {
			t.Fatalf("event after first finished = %+v (stream open %v), want a run event", ev, ok)
		}
		if len(ev.data) > 10<<10 {
			t.Errorf("the event is %d bytes, want under 10 KB", len(ev.data))
		}
		d = runEventData{}
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(d.Nodes["first"].Bars, `data-testid="tl-bars-first"`) {
		t.Errorf("event nodes = %+v, want first with its bars", d.Nodes)
	}
	if _, ok := d.Nodes["second"]; ok && len(d.Nodes) > 2 {
		t.Errorf("event names nodes that did not change: %+v", d.Nodes)
	}
	if d.Status != engine.RunRunning || !strings.Contains(d.Counts, `run-count-completed`) {
		t.Errorf("event status %q, counts %s", d.Status, d.Counts)
	}

	two.let()
	for {
		ev, ok := s.next(t)
		if !ok {
			t.Fatal("the stream ended without a snapshot at the run's end")
		}
		if ev.name == "snapshot" {
			break
		}
	}
	if _, ok := s.next(t); ok {
		t.Error("the stream stayed open after the run ended")
	}
	// A finished run has nothing to follow: a connection gets the snapshot and the end.
	late := openEvents(t, dev, events)
	if ev, _ := late.next(t); ev.name != "snapshot" {
		t.Errorf("a finished run's stream sent %q, want a snapshot", ev.name)
	}
}

// TestRunEventsAccess: the stream has the run pages' rules, a bound on streams per user,
// and ends when the server shuts down, with no feed left behind.
func TestRunEventsAccess(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	svc := newHeldService(t)
	g := ana.createGraph("Nap then greet", strings.Replace(napDoc, "$URL", svc.URL, 1))
	ana.publish(g, "first")
	id := ana.startRun(g, map[string]any{"name": "Ada"})
	rc.waitRun(t, id, "calling", func(r *engine.Run) bool { return r.Nodes["pause"].Status == engine.NodeRunning })
	path := "/runs/" + id + "/events"

	if r := app.client().get(path); r.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous: %d, want a redirect to sign in", r.StatusCode)
	}
	if r := app.signedIn("rev", store.RoleReviewer).get(path); r.StatusCode != http.StatusForbidden {
		t.Errorf("a reviewer: %d, want 403", r.StatusCode)
	}
	if r := app.signedIn("dev", store.RoleDeveloper).get("/runs/run-nope/events"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown run: %d, want 404", r.StatusCode)
	}

	dev := app.signedIn("dev", store.RoleDeveloper)
	m := sseConnect.FindStringSubmatch(dev.get("/runs/" + id).Body)
	if m == nil {
		t.Fatal("no event stream on the page")
	}
	current := strings.ReplaceAll(m[1], "&amp;", "&")
	var streams []*sseStream
	for range liveStreamsPerUser {
		s := openEvents(t, dev, current)
		if s.resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", len(streams), s.resp.StatusCode)
		}
		streams = append(streams, s)
	}
	if r := dev.get(path); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("stream %d of one user: %d, want 429", liveStreamsPerUser+1, r.StatusCode)
	}
	// Closing one makes room again.
	streams[0].cancel()
	for _, ok := streams[0].next(t); ok; _, ok = streams[0].next(t) {
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := openEvents(t, dev, current)
		if r.resp.StatusCode == http.StatusOK {
			streams[0] = r
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a stream closed, a new one: %d", r.resp.StatusCode)
		}
		r.cancel()
		time.Sleep(50 * time.Millisecond)
	}

	app.Server.CloseStreams() // returns once every feed has stopped
	for _, s := range streams {
		for _, ok := s.next(t); ok; _, ok = s.next(t) {
		}
	}
	app.Server.live.mu.Lock()
	feeds := len(app.Server.live.feeds)
	app.Server.live.mu.Unlock()
	if feeds != 0 {
		t.Errorf("%d feeds left after shutdown", feeds)
	}
}

// TestRunEventLayout: a run event names the timeline's layout (its rows and pauses), which the
// page's timeline carries too, so that runs.js loads the timeline again when rows or a pause
// appear that it cannot draw in place; a change of bars alone keeps the layout.
func TestRunEventLayout(t *testing.T) {
	_, events := synthHistory(t, 40)
	before, after := runningView(t, events, 20), runningView(t, events, 21)
	ctx := templates.WithViewer(context.Background(), &templates.Viewer{Name: "dev", Roles: []string{"developer"}})
	var page strings.Builder
	if err := templates.RunLive(before.live(true, true, false)).Render(ctx, &page); err != nil {
		t.Fatal(err)
	}
	prev := newRunLiveState(before)
	if want := `data-layout="` + prev.timeline.Layout() + `"`; !strings.Contains(page.String(), want) {
		t.Fatalf("the page's timeline lacks %s", want)
	}
	layoutOf := func(next *runLiveState) string {
		ev, changed := runLiveDiff(prev, next)
		var d runEventData
		if !changed || json.Unmarshal([]byte(ev.data), &d) != nil {
			t.Fatalf("event %s %s", ev.name, ev.data)
		}
		return d.Layout
	}
	if got := layoutOf(newRunLiveState(after)); got != prev.timeline.Layout() {
		t.Errorf("one more node's bars changed the layout: %s, was %s", got, prev.timeline.Layout())
	}
	after.tl.Pauses = []engine.TimelinePause{{From: after.now.Add(-time.Second), By: "dev"}}
	if got := layoutOf(newRunLiveState(after)); got == prev.timeline.Layout() {
		t.Errorf("a pause kept the layout %s", got)
	}
}
