package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// runShow is a run's page: its pinned version's graph coloured by node status, the timeline,
// the node inspector, input and output. ?node= selects a node; ?from=&to= (milliseconds since
// the run's start) zoom the timeline. An htmx request aimed at #run-live (a
// selection made by runs.js, or a snapshot asked for by the page's event stream) gets only
// that part, and one aimed at #run-inspector only the inspector; the one that finds the run
// ended also swaps in the output.
func (s *Server) runShow(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	rv, err := s.loadRunView(c.Request().Context(), id)
	if err != nil {
		return err
	}
	rv.view = readGanttView(c)
	v := viewer(c)
	live := rv.live(v.HasRole(store.RoleDeveloper), v.HasRole(store.RoleAnalyst), v.HasRole(store.RoleAdmin))
	// After a cancel, the page itself says that the run is stopping or was cancelled; a
	// notice would say it twice.
	switch c.QueryParam("notice") {
	case "started":
		live.Notice = "This run was started with the same input as " + c.QueryParam("from_run") + "."
		if !runIDPattern.MatchString(c.QueryParam("from_run")) {
			live.Notice = "This run was started again with the same input."
		}
	}
	if live.Polling {
		live.EventsURL = "/runs/" + url.PathEscape(id) + "/events?v=" + s.runVersion(rv)
	}
	c.Response().Header().Add(echo.HeaderVary, "HX-Target")
	// The live page asks for the inspector alone when the selected node changes.
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "run-inspector" {
		return RenderFragment(c, http.StatusOK, templates.RunInspector(live.Inspector))
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "run-live" {
		comps := []templ.Component{templates.RunLive(live)}
		// The answer that finds the run ended also refreshes the output, once.
		if !live.Polling && c.Request().Header.Get("HX-Trigger") == "run-live" {
			io := rv.io()
			io.OOB = true
			comps = append(comps, templates.RunIO(io))
		}
		return RenderFragment(c, http.StatusOK, templ.Join(comps...))
	}
	title := "Run " + id
	if rv.graphName != "" {
		title = rv.graphName + " · run " + id
	}
	if rv.draft() {
		title = "Test run " + id
		if rv.graphName != "" {
			title = rv.graphName + " · test run " + id
		}
	}
	return Render(c, http.StatusOK, templates.Page{Title: title, Section: "/runs", OwnStream: live.Polling,
		Body: templates.RunShow(templates.RunShowProps{Live: live, IO: rv.io()})})
}

// loadRunView reads the run's history (the timeline and its pinned definition), its live
// state, and what the store knows of its graph. The state is optional: a run whose state
// cannot be queried (no worker) is drawn from history alone.
func (s *Server) loadRunView(ctx context.Context, id string) (*runView, error) {
	tl, err := s.deps.Runs.Timeline(ctx, id)
	if err != nil {
		return nil, runError(id, err)
	}
	rv := &runView{tl: tl, now: s.cfg.Now()}
	run, err := s.deps.Runs.GetRun(ctx, id)
	switch {
	case err == nil:
		rv.run = run
	case errors.Is(err, engine.ErrRunNotFound):
		return nil, runError(id, err)
	default:
		s.log.Warn("read run state", slog.String("run_id", id), slog.Any("error", err))
	}
	// Times after the run's last event are "now" for a run still going; the server's clock
	// may lag Temporal's a little, which must not draw bars backwards.
	if last := runLastTime(tl); rv.now.Before(last) {
		rv.now = last
	}
	if s.deps.Graphs != nil && store.ValidGraphID(tl.GraphID) {
		if g, err := s.deps.Graphs.GetGraph(ctx, tl.GraphID); err == nil {
			rv.graphName, rv.latest = g.Name, g.LatestVersion
			if v, err := s.deps.Graphs.GetVersion(ctx, tl.GraphID, tl.Version); err == nil {
				rv.retired = v.Retired
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("read graph of run", slog.String("run_id", id), slog.Any("error", err))
		}
	}
	if s.deps.Tasks != nil {
		rv.tasks = map[string]string{}
		calls, _ := s.deps.Tasks.(callTasks)
		for _, n := range tl.Definition.Nodes {
			var t *store.Task
			var err error
			switch {
			case n.Kind == designer.KindApproval:
				t, err = s.deps.Tasks.GetTaskByNode(ctx, id, n.ID)
			case n.Kind == designer.KindAgent && calls != nil:
				t, err = calls.OpenCallTask(ctx, id, n.ID) // the tool call waiting for approval
			default:
				continue
			}
			switch {
			case err == nil:
				rv.tasks[n.ID] = t.ID
			case !errors.Is(err, store.ErrNotFound):
				s.log.Warn("read task of run", slog.String("run_id", id), slog.String("node", n.ID), slog.Any("error", err))
			}
		}
	}
	return rv, nil
}

// callTasks finds the open task of an agent's tool call (*store.DB has it).
type callTasks interface {
	OpenCallTask(ctx context.Context, runID, nodeID string) (*store.Task, error)
}

// runLastTime is the latest time the timeline knows.
func runLastTime(tl *engine.Timeline) time.Time {
	last := tl.StartedAt
	for _, e := range tl.Entries {
		for _, t := range []*time.Time{e.ScheduledAt, e.StartedAt, e.EndedAt} {
			if t != nil && t.After(last) {
				last = *t
			}
		}
	}
	return last
}

// readGanttView reads ?node=, ?items=, ?from= and ?to=; values that do not parse are ignored.
func readGanttView(c echo.Context) ganttView {
	v := ganttView{Node: strings.TrimSpace(c.QueryParam("node"))}
	if items := c.QueryParam("items"); designer.ValidNodeID(items) {
		v.Items = items
	}
	from, err1 := strconv.ParseInt(c.QueryParam("from"), 10, 64)
	to, err2 := strconv.ParseInt(c.QueryParam("to"), 10, 64)
	if err1 == nil && err2 == nil && from >= 0 && to > from && to < int64(365*24*time.Hour/time.Millisecond) {
		v.From, v.To = time.Duration(from)*time.Millisecond, time.Duration(to)*time.Millisecond
	}
	return v
}
