package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/engine"
	"trellis/store"
)

// runStatuses are the run statuses a list can be filtered by (api.md).
var runStatuses = []string{engine.RunRunning, engine.RunWaiting, engine.RunHeld, engine.RunPaused, engine.RunCompleted, engine.RunFailed, engine.RunCancelled}

// runListQuery is a list request: the filters and the page.
type runListQuery struct {
	Graph   string
	Version int
	Status  string
	// Drafts lists the test runs of drafts instead of the runs of versions.
	Drafts bool
	Page   string
	Limit  int
}

// filter checks the query and turns it into an engine filter: 400 for a graph id, version,
// status, page token or limit that cannot be.
func (q runListQuery) filter() (engine.RunFilter, error) {
	f := engine.RunFilter{GraphID: q.Graph, Version: q.Version, Status: q.Status, Drafts: q.Drafts, PageSize: q.Limit}
	if q.Drafts && q.Version > 0 {
		return f, NewError(http.StatusBadRequest, "Test runs of drafts have no version; leave out the version to list them.")
	}
	if q.Graph != "" && !store.ValidGraphID(q.Graph) {
		return f, NewError(http.StatusBadRequest, fmt.Sprintf("%q is not a graph id.", q.Graph))
	}
	if q.Status != "" && !slices.Contains(runStatuses, q.Status) {
		return f, NewError(http.StatusBadRequest, fmt.Sprintf("%q is not a run status; use one of %s.", q.Status, strings.Join(runStatuses, ", ")))
	}
	tok, err := runParsePageToken(q.Page)
	if err != nil {
		return f, err
	}
	f.PageToken = tok
	return f, nil
}

// values is the query as URL parameters, without the page.
func (q runListQuery) values() url.Values {
	v := url.Values{}
	if q.Graph != "" {
		v.Set("graph", q.Graph)
	}
	if q.Version > 0 {
		v.Set("version", strconv.Itoa(q.Version))
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Drafts {
		v.Set("drafts", "true")
	}
	return v
}

// readRunListQuery reads graph, version, status, drafts, page and limit from the URL.
func readRunListQuery(c echo.Context) (runListQuery, error) {
	q := runListQuery{Graph: strings.TrimSpace(c.QueryParam("graph")), Status: strings.TrimSpace(c.QueryParam("status")),
		Page: c.QueryParam("page")}
	if v := strings.TrimSpace(c.QueryParam("version")); v != "" {
		n, err := parseGraphVersion(v)
		if err != nil {
			return q, err
		}
		q.Version = n
	}
	switch strings.TrimSpace(c.QueryParam("drafts")) {
	case "", "false":
	case "true":
		q.Drafts = true
	default:
		return q, NewError(http.StatusBadRequest, "drafts must be true (test runs of drafts) or false (runs of versions).")
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return q, NewError(http.StatusBadRequest, "limit must be a number from 1 to 1000.")
		}
		q.Limit = n
	}
	return q, nil
}

// runListAPI answers GET /api/v1/runs?graph=&version=&status=&drafts=&page=&limit=: [{run_id, graph,
// version, status, started_at, ended_at, started_by, draft}] in visibility's order (runs still going,
// then those that ended most recently), 100 a page unless limit says otherwise. When there are
// more, the X-Next-Page header holds the token to pass as page, and a Link header
// (rel="next") the whole URL of the next page. Test runs of drafts (version 0) are listed
// only with drafts=true, and then only they.
func (s *Server) runListAPI(c echo.Context) error {
	q, err := readRunListQuery(c)
	if err != nil {
		return err
	}
	f, err := q.filter()
	if err != nil {
		return err
	}
	if f.PageSize == 0 {
		f.PageSize = 100
	}
	runs, next, err := s.deps.Runs.ListRunRows(c.Request().Context(), f)
	if err != nil {
		return runError("list", err)
	}
	if runs == nil {
		runs = []engine.RunRow{}
	}
	if tok := runPageToken(next); tok != "" {
		v := q.values()
		if q.Limit > 0 {
			v.Set("limit", strconv.Itoa(q.Limit))
		}
		v.Set("page", tok)
		h := c.Response().Header()
		h.Set("X-Next-Page", tok)
		h.Set("Link", fmt.Sprintf(`</api/v1/runs?%s>; rel="next"`, v.Encode()))
	}
	return c.JSON(http.StatusOK, runs)
}
