package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// graphVersionRestore copies a version back into the draft. With the form's revision, a
// draft saved since the page was shown is a 409 rather than silently replaced.
func (s *Server) graphVersionRestore(c echo.Context) error {
	v, err := s.graphVersionParam(c)
	if err != nil {
		return err
	}
	var base int64
	if r := c.FormValue("revision"); r != "" {
		if base, err = strconv.ParseInt(r, 10, 64); err != nil || base < 0 {
			return NewError(http.StatusBadRequest, "The form's draft revision is not a number.")
		}
	}
	_, err = s.deps.Graphs.SaveDraft(c.Request().Context(), v.GraphID, v.Definition, v.Hash, base, graphActor(c))
	if errors.Is(err, store.ErrConflict) {
		e := NewError(http.StatusConflict, "Someone else saved a newer draft since this page was shown: "+err.Error()+".")
		e.Err = err
		return e
	}
	if err != nil {
		return err
	}
	s.log.Info("version copied into draft", slog.String("graph", v.GraphID), slog.Int("version", v.Version), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/graphs/%s?restored=%d&show=draft", v.GraphID, v.Version))
}
