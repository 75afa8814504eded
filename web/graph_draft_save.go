package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
)

type graphDraftSaveResponse struct {
	Problems []designer.Problem `json:"problems"`
	Revision int64              `json:"revision"`
}

// setDraftRevision sends the draft revision as the ETag, which If-Match sends back.
func setDraftRevision(c echo.Context, rev int64) {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.FormatInt(rev, 10)))
}

// ifMatchDraftRevision reads If-Match: a revision as the ETag gave it ("7"), bare (7) or weak
// (W/"7"). No header or "*" gives 0, which saves whatever the current revision is.
func ifMatchDraftRevision(c echo.Context) (int64, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	t := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	rev, err := strconv.ParseInt(t, 10, 64)
	if err != nil || rev < 1 {
		return 0, NewError(http.StatusBadRequest, fmt.Sprintf("If-Match must be a draft revision as the ETag gave it, such as \"3\"; got %q.", h))
	}
	return rev, nil
}

// graphDraftSave answers PUT /api/v1/graphs/{id}/draft with a graph document: the draft is
// saved however invalid it is (as long as it is a JSON object) and the answer lists its
// problems. With If-Match, a draft saved since that revision is a 409 instead of being
// overwritten.
func (s *Server) graphDraftSave(c echo.Context) error {
	ctx := c.Request().Context()
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return NewError(http.StatusUnsupportedMediaType, defaultMessage(http.StatusUnsupportedMediaType))
	}
	base, err := ifMatchDraftRevision(c)
	if err != nil {
		return err
	}
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	doc, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // a body over the limit becomes 413
	}
	cd, err := s.checkGraphDoc(ctx, doc, g.ID)
	if err != nil {
		return err
	}
	rev, err := s.deps.Graphs.SaveDraft(ctx, g.ID, doc, cd.Hash, base, graphActor(c))
	if errors.Is(err, store.ErrConflict) {
		e := NewError(http.StatusConflict, "Someone else saved a newer draft in the meantime: "+err.Error()+".")
		e.Err = err
		if cur, gerr := s.deps.Graphs.GetGraph(ctx, g.ID); gerr == nil {
			setDraftRevision(c, cur.DraftRevision)
		}
		return e
	}
	if err != nil {
		return err
	}
	setDraftRevision(c, rev)
	return c.JSON(http.StatusOK, graphDraftSaveResponse{Problems: cd.Problems, Revision: rev})
}
