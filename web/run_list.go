package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// runList is the runs page: filters (a GET form), a page of runs from Temporal visibility,
// and links to older pages. An htmx request aimed at the table body (the polling of running
// rows) gets only the body.
func (s *Server) runList(c echo.Context) error {
	ctx := c.Request().Context()
	q, qerr := readRunListQuery(c)
	p := templates.RunListProps{Version: c.QueryParam("version"), Drafts: q.Drafts,
		Filtered: q.Graph != "" || q.Status != "" || c.QueryParam("version") != "" || q.Drafts,
		CanBulk:  !q.Drafts && viewer(c).HasRole(store.RoleDeveloper)}
	status := http.StatusOK
	var rows []engine.RunRow
	var next []byte
	f, err := q.filter()
	if qerr != nil {
		err = qerr
	}
	if err == nil {
		f.PageSize = runPageSize
		rows, next, err = s.deps.Runs.ListRunRows(ctx, f)
		err = runError("list", err)
	}
	if err != nil {
		ae := AsError(err)
		if ae.Status >= 500 {
			return err
		}
		status, p.Error = ae.Status, ae.Message
	}

	names := map[string]string{}
	if s.deps.Graphs != nil {
		list, err := s.deps.Graphs.ListGraphs(ctx)
		if err != nil {
			s.log.Warn("list graphs for the runs filter", slog.Any("error", err))
		}
		for _, g := range list {
			names[g.ID] = g.Name
			p.Graphs = append(p.Graphs, templates.RunListOption{Value: g.ID, Label: g.Name, Selected: g.ID == q.Graph})
		}
	}
	if q.Graph != "" && names[q.Graph] == "" {
		// A graph not in the store (runs of an external client) can still be filtered on.
		p.Graphs = append(p.Graphs, templates.RunListOption{Value: q.Graph, Label: q.Graph, Selected: true})
	}
	for _, st := range runStatuses {
		p.Statuses = append(p.Statuses, templates.RunListOption{Value: st, Label: st, Selected: st == q.Status})
	}

	now := s.cfg.Now()
	for _, r := range rows {
		row := templates.RunListRow{RunID: r.RunID, GraphID: r.Graph, GraphName: names[r.Graph], Version: r.Version,
			Draft: r.Draft, Status: r.Status, StartedBy: r.StartedBy, StartedAt: r.StartedAt, EndedAt: r.EndedAt}
		end := now
		if r.EndedAt != nil {
			end = *r.EndedAt
		} else {
			p.Live = true
		}
		row.Duration = runDuration(end.Sub(r.StartedAt))
		if r.Tokens != nil {
			row.Tokens = runTokens(*r.Tokens)
		}
		if r.Cost != nil {
			row.Cost = runCost(*r.Cost)
		}
		p.Rows = append(p.Rows, row)
	}
	v := q.values()
	if q.Page != "" {
		v.Set("page", q.Page)
		p.FirstURL = "/runs?" + q.values().Encode()
	}
	p.RowsURL = "/runs?" + v.Encode()
	if tok := runPageToken(next); tok != "" {
		nv := q.values()
		nv.Set("page", tok)
		p.NextURL = "/runs?" + nv.Encode()
	}

	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "run-rows" {
		c.Response().Header().Add(echo.HeaderVary, "HX-Target")
		return RenderFragment(c, status, templates.RunRows(p))
	}
	return Render(c, status, templates.Page{Title: "Runs", Section: "/runs", Body: templates.RunList(p)})
}

// runDuration writes a duration as people read it: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min.
func runDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(d.Milliseconds())/1000, 'f', 2, 64) + " s"
	case d < time.Minute:
		return strconv.FormatFloat(float64(d.Milliseconds()/100)/10, 'f', 1, 64) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min " + twoDigits(int(d%time.Minute/time.Second)) + " s"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h " + twoDigits(int(d%time.Hour/time.Minute)) + " min"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " d " + strconv.Itoa(int(d%(24*time.Hour)/time.Hour)) + " h"
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
