package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// versionWindows are the windows the Versions tab offers; the first is the default.
var versionWindows = []struct {
	name string
	d    time.Duration
}{{"7d", 7 * 24 * time.Hour}, {"1h", time.Hour}, {"24h", 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"365d", 365 * 24 * time.Hour}}

// versionStatsAPI answers GET /api/v1/graphs/{id}/versions/stats?since=RFC3339 (default a
// week ago): per version, runs by status, success rate, duration p50/p95, tokens, cost, open
// tasks, decisions by outcome, the runs still open, and the traffic share.
func (s *Server) versionStatsAPI(c echo.Context) error {
	since := s.cfg.Now().Add(-versionWindows[0].d)
	if q := c.QueryParam("since"); q != "" {
		t, err := time.Parse(time.RFC3339, q)
		if err != nil {
			return NewError(http.StatusBadRequest, fmt.Sprintf("since %q is not an RFC 3339 time such as 2026-12-01T00:00:00Z.", q))
		}
		since = t
	}
	if since.Before(s.cfg.Now().Add(-actions.MaxStatsWindow)) {
		return NewError(http.StatusUnprocessableEntity, "since may be at most a year ago.")
	}
	rep, err := s.actions.VersionReport(c.Request().Context(), c.Param("id"), since)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// versionsShow is a graph's Versions tab.
func (s *Server) versionsShow(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	return s.versionsPage(c, g, http.StatusOK, "", nil)
}

// versionsPage renders the Versions tab with status, and a refused change's message.
func (s *Server) versionsPage(c echo.Context, g *store.Graph, status int, errMsg string, problems []Problem) error {
	window := versionWindows[0]
	for _, w := range versionWindows {
		if w.name == c.QueryParam("window") {
			window = w
		}
	}
	rep, err := s.actions.VersionReport(c.Request().Context(), g.ID, s.cfg.Now().Add(-window.d))
	if err != nil {
		return err
	}
	canEdit := viewer(c).HasRole(store.RoleAnalyst)
	p := templates.VersionsProps{
		Header: templates.GraphHeaderProps{ID: g.ID, Name: g.Name, Current: "versions", LatestVersion: g.LatestVersion, CanEdit: canEdit,
			Lead: "How each version does in production, which one new runs go to, and which still have runs."},
		Window: window.name, Error: errMsg, Partial: rep.Partial,
		Traffic: trafficForm(rep, canEdit),
	}
	for _, w := range versionWindows {
		p.Windows = append(p.Windows, w.name)
	}
	for _, pr := range problems {
		p.Problems = append(p.Problems, pr.Text())
	}
	for _, v := range rep.Versions {
		p.Columns = append(p.Columns, versionColumn(v, rep.Latest, s.cfg.Now()))
	}
	p.Compare = versionCompare(c, g.ID, rep)
	switch {
	case c.QueryParam("saved") == "traffic":
		p.Notice = "The traffic split is saved."
	case c.QueryParam("promoted") != "":
		if n, err := strconv.Atoi(c.QueryParam("promoted")); err == nil {
			p.Notice = fmt.Sprintf("Version %d now gets every new run.", n)
		}
	}
	return Render(c, status, templates.Page{Title: "Versions of " + g.Name, Section: "/graphs", Body: templates.VersionsPage(p)})
}

func trafficForm(rep *actions.VersionReport, canEdit bool) templates.TrafficForm {
	f := templates.TrafficForm{CanEdit: canEdit}
	if rep.Traffic != nil {
		f.Set, f.Sticky, f.By = true, rep.Traffic.Sticky, rep.Traffic.UpdatedBy
	}
	for _, v := range rep.Versions {
		if v.Retired && v.Percent == nil {
			continue
		}
		r := templates.TrafficRow{Version: v.Version}
		if v.Percent != nil {
			r.Percent = strconv.Itoa(*v.Percent)
		}
		f.Rows = append(f.Rows, r)
	}
	return f
}

// versionStatusOrder is the order run statuses are listed in.
var versionStatusOrder = []string{engine.RunRunning, engine.RunWaiting, "held", "paused", engine.RunCompleted, engine.RunFailed, engine.RunCancelled}

func statusCounts(m map[string]int) []templates.StatusCount {
	var out []templates.StatusCount
	for _, st := range versionStatusOrder {
		if m[st] > 0 {
			out = append(out, templates.StatusCount{Label: st, N: m[st]})
		}
	}
	return out
}

func versionColumn(v actions.VersionStats, latest int, now time.Time) templates.VersionColumn {
	col := templates.VersionColumn{Version: v.Version, Retired: v.Retired, Latest: v.Version == latest,
		Runs: statusCounts(v.Runs), SuccessRate: percentText(v.SuccessRate), P50: msText(v.DurationP50), P95: msText(v.DurationP95),
		OpenTasks: v.OpenTasks, Draining: v.Draining.Total, DrainRuns: statusCounts(v.Draining.Runs)}
	for _, n := range v.Runs {
		col.Total += n
	}
	if v.Percent != nil {
		col.Percent = strconv.Itoa(*v.Percent)
	}
	if v.Tokens > 0 {
		col.Tokens = strconv.FormatInt(v.Tokens, 10)
	}
	if v.Cost > 0 {
		col.Cost = fmt.Sprintf("$%.4f", v.Cost)
	}
	outcomes := make([]string, 0, len(v.Decisions))
	for o := range v.Decisions {
		outcomes = append(outcomes, o)
	}
	slices.Sort(outcomes)
	for _, o := range outcomes {
		col.Decisions = append(col.Decisions, templates.StatusCount{Label: o, N: v.Decisions[o]})
	}
	if o := v.Draining.Oldest; o != nil {
		col.OldestRunID = o.RunID
		col.OldestAge = "started " + durationText(now.Sub(o.StartedAt)) + " ago, " + o.Status
	}
	return col
}

// versionCompare puts two versions side by side: those asked for (?a=&b=), else the latest
// and the one before it. Nil with fewer than two versions.
func versionCompare(c echo.Context, graphID string, rep *actions.VersionReport) *templates.VersionCompare {
	if len(rep.Versions) < 2 {
		return nil
	}
	find := func(q string, def int) *actions.VersionStats {
		n, err := strconv.Atoi(c.QueryParam(q))
		if err != nil {
			n = def
		}
		for i := range rep.Versions {
			if rep.Versions[i].Version == n {
				return &rep.Versions[i]
			}
		}
		return nil
	}
	a, b := find("a", rep.Versions[1].Version), find("b", rep.Versions[0].Version)
	if a == nil || b == nil {
		a, b = &rep.Versions[1], &rep.Versions[0]
	}
	cmp := &templates.VersionCompare{A: a.Version, B: b.Version,
		DiffURL: "/graphs/" + url.PathEscape(graphID) + "/diff?" + url.Values{"from": {strconv.Itoa(a.Version)}, "to": {strconv.Itoa(b.Version)}}.Encode()}
	for _, v := range rep.Versions {
		cmp.Choices = append(cmp.Choices, v.Version)
	}
	total := func(v *actions.VersionStats) int {
		n := 0
		for _, x := range v.Runs {
			n += x
		}
		return n
	}
	cmp.Rows = []templates.CompareRow{
		{Label: "Runs", A: strconv.Itoa(total(a)), B: strconv.Itoa(total(b))},
		{Label: "Success rate", A: percentText(a.SuccessRate), B: percentText(b.SuccessRate), Better: better(a.SuccessRate, b.SuccessRate, true)},
		{Label: "Failed", A: strconv.Itoa(a.Runs[engine.RunFailed]), B: strconv.Itoa(b.Runs[engine.RunFailed])},
		{Label: "Duration p50", A: msText(a.DurationP50), B: msText(b.DurationP50), Better: better(a.DurationP50, b.DurationP50, false)},
		{Label: "Duration p95", A: msText(a.DurationP95), B: msText(b.DurationP95), Better: better(a.DurationP95, b.DurationP95, false)},
		{Label: "Tokens", A: strconv.FormatInt(a.Tokens, 10), B: strconv.FormatInt(b.Tokens, 10)},
		{Label: "Cost", A: fmt.Sprintf("$%.4f", a.Cost), B: fmt.Sprintf("$%.4f", b.Cost)},
		{Label: "Open tasks", A: strconv.Itoa(a.OpenTasks), B: strconv.Itoa(b.OpenTasks)},
	}
	outcomes := map[string]bool{}
	for o := range a.Decisions {
		outcomes[o] = true
	}
	for o := range b.Decisions {
		outcomes[o] = true
	}
	names := make([]string, 0, len(outcomes))
	for o := range outcomes {
		names = append(names, o)
	}
	slices.Sort(names)
	for _, o := range names {
		cmp.Rows = append(cmp.Rows, templates.CompareRow{Label: "Decided " + o,
			A: decisionShare(a.Decisions, o), B: decisionShare(b.Decisions, o)})
	}
	cmp.Rows = append(cmp.Rows, nodeCompareRows(a.Nodes, b.Nodes)...)
	return cmp
}

// nodeCompareRows are the per-node figures of two versions, node by node (ids in order):
// the share of its runs that failed and its p95 duration, the better side marked.
func nodeCompareRows(a, b map[string]*store.NodeFigures) []templates.CompareRow {
	ids := make([]string, 0, len(a)+len(b))
	for id := range a {
		ids = append(ids, id)
	}
	for id := range b {
		if a[id] == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	failRate := func(f *store.NodeFigures) *float64 {
		if f == nil || f.Runs == 0 {
			return nil
		}
		r := float64(f.Failed) / float64(f.Runs)
		return &r
	}
	failText := func(f *store.NodeFigures) string {
		if f == nil {
			return "–"
		}
		return fmt.Sprintf("%d of %d", f.Failed, f.Runs)
	}
	p95 := func(f *store.NodeFigures) *int64 {
		if f == nil {
			return nil
		}
		return f.DurationP95Ms
	}
	var rows []templates.CompareRow
	for _, id := range ids {
		fa, fb := a[id], b[id]
		rows = append(rows,
			templates.CompareRow{Label: "Node " + id + ": failed", A: failText(fa), B: failText(fb), Better: better(failRate(fa), failRate(fb), false)},
			templates.CompareRow{Label: "Node " + id + ": p95", A: msText(p95(fa)), B: msText(p95(fb)), Better: better(p95(fa), p95(fb), false)})
	}
	return rows
}

// better says which side has the better figure ("a", "b" or "" when equal or unknown).
func better[T int64 | float64](a, b *T, higher bool) string {
	if a == nil || b == nil || *a == *b {
		return ""
	}
	if (*a > *b) == higher {
		return "a"
	}
	return "b"
}

// decisionShare is how many decisions had an outcome, with their share of all.
func decisionShare(d map[string]int, outcome string) string {
	all := 0
	for _, n := range d {
		all += n
	}
	if all == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.0f %%)", d[outcome], 100*float64(d[outcome])/float64(all))
}

func percentText(r *float64) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100**r)
}

func msText(ms *int64) string {
	if ms == nil {
		return "–"
	}
	return durationText(time.Duration(*ms) * time.Millisecond)
}

// durationText is a duration to a sensible precision: 340 ms, 4.2 s, 12 min, 3 h, 2 d.
func durationText(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.0f min", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.0f d", d.Hours()/24)
}
