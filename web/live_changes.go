package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// liveChangesGap is the least time between two "changed" events of one stream: a busy
// server hints many times a second, and each event makes every open page ask again.
const liveChangesGap = time.Second

// changesEvents is the event stream every signed-in page holds. It sends "changed" when some
// run may have changed (a run started, moved on, waits for a person, was held or ended), at
// most once per liveChangesGap; the runs list, the inbox and the navigation counts answer it
// by asking for themselves again, instead of polling. Without a notifier (runs on remote
// workers only) it sends one at the server's live interval.
func (s *Server) changesEvents(c echo.Context) error {
	release, ok := s.live.admit(CurrentUser(c).ID)
	if !ok {
		return NewError(http.StatusTooManyRequests, "Too many live pages are open; close some tabs and reload.")
	}
	defer release()
	var hints <-chan struct{}
	var fallback <-chan time.Time
	if s.deps.Notifier != nil {
		var unsub func()
		hints, unsub = s.deps.Notifier.Subscribe("")
		defer unsub()
	} else {
		tick := time.NewTicker(s.cfg.LiveInterval)
		defer tick.Stop()
		fallback = tick.C
	}
	w := openEventStream(c)
	w.Flush()
	keep := time.NewTicker(liveKeepAlive)
	defer keep.Stop()
	send := time.NewTimer(time.Hour)
	send.Stop()
	pending := false
	var last time.Time
	ctx := c.Request().Context()
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
		case <-hints:
			if !pending {
				pending = true
				// Wait for the workflow task that hinted to complete, and keep the gap.
				send.Reset(max(liveSettle, liveChangesGap-time.Since(last)))
			}
		case <-fallback:
			if writeEvent(w, liveEvent{name: "changed", data: []byte("{}")}) != nil {
				return nil
			}
		case <-send.C:
			pending, last = false, time.Now()
			if writeEvent(w, liveEvent{name: "changed", data: []byte("{}")}) != nil {
				return nil
			}
		}
	}
}
