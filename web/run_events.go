package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"trellis/templates"
)

// RunNotifier hints that a run may have changed (*engine.Notifier implements it); "" hears
// of every run.
type RunNotifier interface {
	Subscribe(runID string) (<-chan struct{}, func())
}

const (
	// liveStreamsPerUser bounds the event streams one user holds open (tabs of live pages).
	liveStreamsPerUser = 16
	// liveSettle is how long a feed waits after a hint before reading the run, so that the
	// workflow task that caused it has completed; liveFollow reads once more after a change,
	// for what the same step finishes a moment later.
	liveSettle = 100 * time.Millisecond
	liveFollow = time.Second
	// liveKeepAlive is how often an idle stream sends a comment, so proxies keep it open.
	liveKeepAlive = 25 * time.Second
	// liveSubBuffer events wait for a slow browser; past that its stream is closed and the
	// browser reconnects to a snapshot.
	liveSubBuffer = 16
	// liveRecall is how many states the hub remembers (pages drawn, reads of feeds), so a
	// page that connects or reconnects a little behind gets what changed, not a snapshot.
	liveRecall = 64
)

// liveEvent is one server-sent event.
type liveEvent struct {
	name string
	id   string
	data []byte
}

// liveHub holds the live feeds of this server: one per run that someone watches, shared by
// all who watch it, so a change is read once for all of them.
type liveHub struct {
	s       *Server
	mu      sync.Mutex
	feeds   map[string]*runFeed
	streams map[int64]int
	recent  []*runLiveState
	done    chan struct{}
	closed  sync.Once
	wg      sync.WaitGroup
}

func newLiveHub(s *Server) *liveHub {
	return &liveHub{s: s, feeds: map[string]*runFeed{}, streams: map[int64]int{}, done: make(chan struct{})}
}

// CloseStreams ends every event stream and feed, for a server shutting down (http.Server
// waits for open requests, and a stream never ends by itself).
func (s *Server) CloseStreams() {
	s.live.closed.Do(func() { close(s.live.done) })
	s.live.wg.Wait()
}

// remember keeps st for recall, forgetting the oldest past liveRecall.
func (h *liveHub) remember(st *runLiveState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rememberLocked(st)
}

func (h *liveHub) rememberLocked(st *runLiveState) {
	if len(h.recent) >= liveRecall {
		h.recent = h.recent[1:]
	}
	h.recent = append(h.recent, st)
}

// recall is a remembered state of run id by its version, or nil.
func (h *liveHub) recall(id, version string) *runLiveState {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range h.recent {
		if st.runID == id && st.version == version {
			return st
		}
	}
	return nil
}

// admit counts a stream of user; false when the user already holds the most allowed.
func (h *liveHub) admit(user int64) (func(), bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[user] >= liveStreamsPerUser {
		return nil, false
	}
	h.streams[user]++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.streams[user]--; h.streams[user] <= 0 {
			delete(h.streams, user)
		}
	}, true
}

// runFeed reads one run when it changes and tells every subscriber what changed.
type runFeed struct {
	id    string
	subs  map[chan liveEvent]struct{}
	ready chan struct{} // closed once last or err is set
	last  *runLiveState
	err   error
	stop  chan struct{}
}

// subscribe joins the feed of run id, starting it if nobody watched the run, and returns
// the state the feed knows (read now, for the first subscriber).
func (h *liveHub) subscribe(ctx context.Context, id string) (chan liveEvent, *runLiveState, func(), error) {
	h.mu.Lock()
	f := h.feeds[id]
	if f == nil {
		f = &runFeed{id: id, subs: map[chan liveEvent]struct{}{}, ready: make(chan struct{}), stop: make(chan struct{})}
		h.feeds[id] = f
		h.wg.Add(1)
		go h.run(f)
	}
	ch := make(chan liveEvent, liveSubBuffer)
	f.subs[ch] = struct{}{}
	h.mu.Unlock()
	leave := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(f.subs, ch)
		if len(f.subs) == 0 && h.feeds[id] == f {
			delete(h.feeds, id)
			close(f.stop)
		}
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		leave()
		return nil, nil, nil, ctx.Err()
	case <-h.done:
		leave()
		return nil, nil, nil, NewError(http.StatusServiceUnavailable, "The server is shutting down.")
	}
	h.mu.Lock()
	last, err := f.last, f.err
	h.mu.Unlock()
	if err != nil {
		leave()
		return nil, nil, nil, err
	}
	return ch, last, leave, nil
}

// run is a feed's loop: read the run when a hint comes (after liveSettle), again liveFollow
// after a change, and at the server's interval in case no hint comes (a remote worker).
func (h *liveHub) run(f *runFeed) {
	defer h.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hints <-chan struct{}
	if h.s.deps.Notifier != nil {
		var unsub func()
		hints, unsub = h.s.deps.Notifier.Subscribe(f.id)
		defer unsub()
	}
	tick := time.NewTicker(h.s.cfg.LiveInterval)
	defer tick.Stop()
	next := time.NewTimer(0) // the first read, at once
	defer next.Stop()
	follow := false
	for {
		select {
		case <-h.done:
			return
		case <-f.stop:
			return
		case <-hints:
			next.Reset(liveSettle)
			follow = true
			continue
		case <-tick.C:
		case <-next.C:
		}
		changed := h.check(ctx, f)
		if changed || follow {
			next.Reset(liveFollow)
		}
		follow = changed
	}
}

// check reads the run and sends what changed since the last read to every subscriber.
func (h *liveHub) check(ctx context.Context, f *runFeed) bool {
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var st *runLiveState
	rv, err := h.s.loadRunView(rctx, f.id)
	if err == nil {
		st = newRunLiveState(rv)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	first := f.last == nil && f.err == nil
	if err != nil {
		if first {
			f.err = err
			close(f.ready)
		}
		return false
	}
	prev := f.last
	f.last = st
	h.rememberLocked(st)
	if first {
		close(f.ready)
		return false
	}
	ev, changed := runLiveDiff(prev, st)
	if !changed {
		return false
	}
	for ch := range f.subs {
		select {
		case ch <- ev:
		default:
			// Too far behind: end its stream; the browser comes back to a snapshot.
			delete(f.subs, ch)
			close(ch)
		}
	}
	return true
}

// runEvents is the event stream of a run's page. A browser whose page shows another state
// than the feed's (?v= on the first connection, Last-Event-ID on the browser's own
// reconnection) gets what changed since, or a snapshot event when the hub no longer
// remembers that state, which runs.js answers by loading the live part again; after that,
// "run" events carry only what changed. When the run ends the
// stream sends a last snapshot and closes.
func (s *Server) runEvents(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	release, ok := s.live.admit(CurrentUser(c).ID)
	if !ok {
		return NewError(http.StatusTooManyRequests, "Too many live pages are open; close some tabs and reload.")
	}
	defer release()
	ctx := c.Request().Context()
	ch, st, leave, err := s.live.subscribe(ctx, id)
	if err != nil {
		return runError(id, err)
	}
	defer leave()
	w := openEventStream(c)
	seen := c.Request().Header.Get("Last-Event-ID")
	if seen == "" {
		seen = c.QueryParam("v")
	}
	if seen != st.version || !st.open {
		ev := liveEvent{name: "snapshot", id: st.version, data: []byte("{}")}
		if old := s.live.recall(id, seen); old != nil {
			ev, _ = runLiveDiff(old, st)
		}
		if err := writeEvent(w, ev); err != nil || ev.name == "snapshot" {
			return nil
		}
	}
	w.Flush()
	keep := time.NewTicker(liveKeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.live.done:
			return nil
		case <-keep.C:
			if keepAlive(w) != nil {
				return nil
			}
		case ev, ok := <-ch:
			if !ok || writeEvent(w, ev) != nil || ev.name == "snapshot" {
				return nil
			}
		}
		w.Flush()
	}
}

// openEventStream answers with the headers of a server-sent event stream.
func openEventStream(c echo.Context) *echo.Response {
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx would buffer the stream
	w.WriteHeader(http.StatusOK)
	return w
}

// keepAlive writes the comment that keeps an idle stream open through proxies.
func keepAlive(w *echo.Response) error {
	_, err := w.Write([]byte(": keep-alive\n\n"))
	w.Flush()
	return err
}

// writeEvent writes one event in the text/event-stream format; data is one line of JSON.
func writeEvent(w http.ResponseWriter, ev liveEvent) error {
	var b bytes.Buffer
	b.WriteString("event: " + ev.name + "\n")
	if ev.id != "" {
		b.WriteString("id: " + ev.id + "\n")
	}
	b.WriteString("data: ")
	b.Write(ev.data)
	b.WriteString("\n\n")
	_, err := w.Write(b.Bytes())
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return err
}

// runLiveState is what the live run page shows, as a feed last read it.
type runLiveState struct {
	runID    string
	version  string
	open     bool
	status   string
	duration string
	counts   []templates.RunCount
	nodes    map[string]runNodeLive
	timeline templates.TimelineProps
	rows     map[string]int // node → index in timeline.Rows
}

// runNodeLive is one node's part: sig changes whenever anything drawn of it does, save
// the growth of a step still going (the page stretches those itself).
type runNodeLive struct {
	sig, status, note, progress string
}

// newRunLiveState draws the live parts of a run the way the page does, for any viewer: no
// node selected, the whole run.
func newRunLiveState(rv *runView) *runLiveState {
	statuses := rv.nodeStatuses()
	st := &runLiveState{runID: rv.tl.RunID, open: rv.open(), status: rv.status(), nodes: map[string]runNodeLive{}, rows: map[string]int{}}
	end := rv.now
	if e := rv.endedAt(); e != nil {
		end = *e
	}
	st.duration = "Running for " + runDuration(end.Sub(rv.tl.StartedAt))
	count := map[string]int{}
	for _, n := range rv.tl.Definition.Nodes {
		count[statuses[n.ID]]++
	}
	st.counts = runCounts(count)
	sigs := rv.entrySigs()
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|", st.status)
	ids := make([]string, 0, len(statuses))
	for id := range statuses {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := runNodeLive{status: statuses[id], note: rv.nodeNote(id, statuses[id]), progress: rv.nodeProgress(id)}
		n.sig = n.status + "|" + n.note + "|" + sigs[id]
		st.nodes[id] = n
		fmt.Fprintf(h, "%s=%s;", id, n.sig)
	}
	st.version = strconv.FormatUint(h.Sum64(), 36)
	st.timeline = buildGantt(ganttInput{tl: rv.tl, statuses: statuses, now: rv.now,
		link: func(v ganttView) templates.RunLink { return templates.RunLink{Page: runShowURL(rv.tl.RunID, v)} }})
	for i, r := range st.timeline.Rows {
		st.rows[r.Node] = i
	}
	return st
}

// entrySigs sums up each node's steps: what they are and when they were scheduled,
// started and ended (not how long an open one has run so far).
func (rv *runView) entrySigs() map[string]string {
	out := map[string]string{}
	ms := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	for _, e := range rv.tl.Entries {
		out[e.Node] += fmt.Sprintf("%s/%d/%s/%s/%s/%s,", e.Step, e.Attempt, e.Status, ms(e.ScheduledAt), ms(e.StartedAt), ms(e.EndedAt))
	}
	return out
}

// runVersion is the version of the state rv shows, which the page sends back when it
// connects to its events; the hub remembers the state, to send the page what changed since.
func (s *Server) runVersion(rv *runView) string {
	st := newRunLiveState(rv)
	s.live.remember(st)
	return st.version
}

// runNodeEvent is one changed node in a run event: its status and tooltip note, its
// progress (a map's or a loop's, on its face), and its timeline bars (empty when it has
// none yet).
type runNodeEvent struct {
	Status   string `json:"status"`
	Note     string `json:"note"`
	Progress string `json:"progress,omitempty"`
	Bars     string `json:"bars"`
}

// runEventData is a run event: the run's status and the parts that changed.
type runEventData struct {
	Version  string                  `json:"v"`
	Status   string                  `json:"status"`
	Badge    string                  `json:"badge"`
	Duration string                  `json:"duration"`
	Counts   string                  `json:"counts"`
	Horizon  int64                   `json:"horizon"`
	Layout   string                  `json:"layout"`
	NowX     float64                 `json:"now_x"`
	Nodes    map[string]runNodeEvent `json:"nodes"`
}

// runLiveDiff is the event that brings a page showing prev to next: a snapshot once the
// run has ended, else the nodes that changed.
func runLiveDiff(prev, next *runLiveState) (liveEvent, bool) {
	if prev.version == next.version {
		return liveEvent{}, false
	}
	if !next.open {
		return liveEvent{name: "snapshot", id: next.version, data: []byte("{}")}, true
	}
	d := runEventData{Version: next.version, Status: next.status, Duration: next.duration,
		Horizon: next.timeline.Horizon, Layout: next.timeline.Layout(), NowX: next.timeline.NowX, Nodes: map[string]runNodeEvent{}}
	ctx := context.Background()
	d.Badge = renderHTML(ctx, templates.StatusBadge(next.status))
	d.Counts = renderHTML(ctx, templates.RunCounts(next.counts))
	for id, n := range next.nodes {
		if prev.nodes[id].sig == n.sig {
			continue
		}
		ne := runNodeEvent{Status: n.status, Note: n.note, Progress: n.progress}
		if i, ok := next.rows[id]; ok && len(next.timeline.Rows[i].Bars) > 0 {
			ne.Bars = renderHTML(ctx, templates.TimelineBars(next.timeline.Rows[i]))
		}
		d.Nodes[id] = ne
	}
	data, err := json.Marshal(d)
	if err != nil {
		return liveEvent{}, false
	}
	return liveEvent{name: "run", id: next.version, data: data}, true
}

// renderHTML renders a component that needs no viewer.
func renderHTML(ctx context.Context, c templ.Component) string {
	var b bytes.Buffer
	if err := c.Render(ctx, &b); err != nil {
		return ""
	}
	return b.String()
}
