package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/store"
)

// versionTrafficLimit bounds a traffic setting: a few splits and a sticky expression.
const versionTrafficLimit = 16 << 10

type versionTrafficResponse struct {
	Splits    []store.TrafficSplit `json:"splits"`
	Sticky    string               `json:"sticky,omitempty"`
	UpdatedBy string               `json:"updated_by,omitempty"`
	UpdatedAt string               `json:"updated_at,omitempty"`
}

func trafficResponse(t *store.Traffic) versionTrafficResponse {
	if t == nil {
		return versionTrafficResponse{Splits: []store.TrafficSplit{}}
	}
	return versionTrafficResponse{Splits: t.Splits, Sticky: t.Sticky, UpdatedBy: t.UpdatedBy, UpdatedAt: t.UpdatedAt.Format("2006-01-02T15:04:05Z07:00")}
}

// versionTrafficAPI answers GET /api/v1/graphs/{id}/traffic: {splits, sticky}; no splits
// means runs started without a version go to the latest version that is not retired.
func (s *Server) versionTrafficAPI(c echo.Context) error {
	t, err := s.actions.Traffic(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, trafficResponse(t))
}

// versionTrafficSaveAPI answers PUT /api/v1/graphs/{id}/traffic {splits, sticky?}: 200 with
// the setting; 422 naming the field for an unknown or retired version, percentages that do
// not add up to 100, or a sticky expression that does not compile.
func (s *Server) versionTrafficSaveAPI(c echo.Context) error {
	var req actions.TrafficRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := s.actions.SetTraffic(c.Request().Context(), c.Param("id"), req, graphActor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, trafficResponse(t))
}

// versionTrafficSave is the traffic form of the Versions tab: a percent per version
// (percent_N) and the sticky expression. A refusal shows the tab again with the problems.
func (s *Server) versionTrafficSave(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	req := actions.TrafficRequest{Sticky: strings.TrimSpace(c.FormValue("sticky"))}
	form, err := c.FormParams()
	if err != nil {
		return NewError(http.StatusBadRequest, "The form could not be read.")
	}
	var versions []int
	for name := range form {
		if n, ok := strings.CutPrefix(name, "percent_"); ok {
			if v, err := strconv.Atoi(n); err == nil && v > 0 {
				versions = append(versions, v)
			}
		}
	}
	slices.Sort(versions)
	for _, v := range versions {
		text := strings.TrimSpace(form.Get(fmt.Sprintf("percent_%d", v)))
		if text == "" || text == "0" {
			continue
		}
		p, err := strconv.Atoi(strings.TrimSuffix(text, "%"))
		if err != nil {
			return s.versionsPage(c, g, http.StatusUnprocessableEntity, fmt.Sprintf("The percent of version %d, %q, is not a whole number.", v, text), nil)
		}
		req.Splits = append(req.Splits, store.TrafficSplit{Version: v, Percent: p})
	}
	if _, err := s.actions.SetTraffic(c.Request().Context(), g.ID, req, graphActor(c)); err != nil {
		if ae := formRefusal(err); ae != nil {
			return s.versionsPage(c, g, ae.Status, ae.Message, ae.Problems)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/graphs/"+url.PathEscape(g.ID)+"/versions?saved=traffic")
}

// versionPromote is the Promote button: the version gets 100 % of new runs.
func (s *Server) versionPromote(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	v, err := parseGraphVersion(c.FormValue("version"))
	if err != nil {
		return err
	}
	if _, err := s.actions.Promote(c.Request().Context(), g.ID, v, graphActor(c)); err != nil {
		if ae := formRefusal(err); ae != nil {
			return s.versionsPage(c, g, ae.Status, ae.Message, ae.Problems)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/graphs/%s/versions?promoted=%d", url.PathEscape(g.ID), v))
}
