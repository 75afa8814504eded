package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/store"
	"trellis/templates"
)

// ScheduleEngine is what schedules need of the workflow engine: Temporal schedules
// (*engine.Engine implements it; actions.Scheduler says what each returns).
type ScheduleEngine interface {
	actions.Scheduler
}

// triggers returns the trigger actions: webhooks, and schedules when the engine is there.
func (s *Server) triggers() *actions.Triggers {
	var sched actions.Scheduler
	if s.deps.Runs != nil {
		sched = s.deps.Runs
	}
	return actions.NewTriggers(s.actions, s.deps.Triggers, sched)
}

// needTriggers answers 503 when the server has no trigger store.
func (s *Server) needTriggers(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.deps.Triggers == nil || s.deps.Graphs == nil {
			return NewError(http.StatusServiceUnavailable, "Triggers are not available on this server.")
		}
		return h(c)
	}
}

// hookURL is where a hook takes deliveries: under --public-url when set (behind a proxy the
// request's host is the proxy's upstream, not what senders reach), else on the host the
// request came to.
func (s *Server) hookURL(c echo.Context, id string) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/") + "/hooks/" + id
	}
	return c.Scheme() + "://" + c.Request().Host + "/hooks/" + id
}

// deliveriesShown is how many deliveries of each hook the Triggers tab lists.
const deliveriesShown = 5

// triggersShow is a graph's Triggers tab: schedules with their next firings, webhooks with
// their last deliveries, and the forms to add both.
func (s *Server) triggersShow(c echo.Context) error {
	p, err := s.triggersProps(c)
	if err != nil {
		return err
	}
	p.Notice = c.QueryParam("done")
	if len(p.Notice) > 200 {
		p.Notice = ""
	}
	return s.renderTriggers(c, http.StatusOK, p)
}

func (s *Server) renderTriggers(c echo.Context, status int, p templates.TriggersProps) error {
	return Render(c, status, templates.Page{Title: p.Header.Name + " triggers", Section: "/graphs", Body: templates.Triggers(p)})
}

// triggersProps reads what the Triggers tab shows.
func (s *Server) triggersProps(c echo.Context) (templates.TriggersProps, error) {
	ctx := c.Request().Context()
	g, err := s.graphParam(c)
	if err != nil {
		return templates.TriggersProps{}, err
	}
	p := templates.TriggersProps{Header: templates.GraphHeaderProps{ID: g.ID, Name: g.Name, Current: "triggers",
		LatestVersion: g.LatestVersion, CanEdit: viewer(c).HasRole(store.RoleAnalyst)}}
	versions, err := s.deps.Graphs.ListVersions(ctx, g.ID)
	if err != nil {
		return p, err
	}
	for _, v := range versions {
		if !v.Retired {
			p.Versions = append(p.Versions, v.Version)
		}
	}
	t := s.triggers()
	hooks, err := t.Hooks(ctx, g.ID)
	if err != nil {
		return p, err
	}
	for _, h := range hooks {
		ds, err := t.HookDeliveries(ctx, h.ID, deliveriesShown)
		if err != nil {
			return p, err
		}
		p.Hooks = append(p.Hooks, s.hookRow(c, h, ds))
	}
	if s.deps.Runs != nil {
		views, err := t.Schedules(ctx, g.ID)
		if err != nil {
			return p, err
		}
		for _, v := range views {
			p.Schedules = append(p.Schedules, scheduleRow(v))
		}
	}
	return p, nil
}

func versionText(v int) string {
	if v == 0 {
		return "latest version"
	}
	return "version " + strconv.Itoa(v)
}

func (s *Server) hookRow(c echo.Context, h store.Hook, ds []store.HookDelivery) templates.HookRow {
	r := templates.HookRow{ID: h.ID, Name: h.Name, Auth: h.Auth, URL: s.hookURL(c, h.ID), Version: versionText(h.Version),
		CreatedBy: h.CreatedBy, CreatedAt: h.CreatedAt, Enabled: h.Enabled()}
	for _, d := range ds {
		r.Deliveries = append(r.Deliveries, templates.DeliveryRow{At: d.At, Status: d.Status, RunID: d.RunID, Message: d.Message})
	}
	return r
}

func scheduleRow(v actions.ScheduleView) templates.ScheduleRow {
	r := templates.ScheduleRow{ID: v.ID, TimeZone: v.Spec.TimeZone, Overlap: v.Spec.Overlap, CreatedBy: v.CreatedBy, Paused: v.Spec.Paused}
	r.When = "every " + v.Spec.Every
	if v.Spec.Cron != "" {
		r.When = v.Spec.Cron
	}
	r.Version = "latest version"
	if n, err := strconv.Atoi(string(v.Spec.Version)); err == nil {
		r.Version = versionText(n)
	}
	if v.State != nil {
		r.Known, r.Next = true, v.State.Next
		for i := len(v.State.Recent) - 1; i >= 0 && len(r.Recent) < deliveriesShown; i-- {
			f := v.State.Recent[i]
			r.Recent = append(r.Recent, templates.DeliveryRow{At: f.At, RunID: f.RunID})
		}
	}
	return r
}

// triggersDone redirects to the Triggers tab with a notice.
func triggersDone(c echo.Context, graphID, notice string) error {
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/graphs/%s/triggers?done=%s", url.PathEscape(graphID), url.QueryEscape(notice)))
}
