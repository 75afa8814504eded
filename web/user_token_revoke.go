package web

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"trellis/templates"
)

// userTokenRevoke revokes one API token of the user; it stops working at once.
func (s *Server) userTokenRevoke(c echo.Context) error {
	name := c.Param("name")
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return NewError(http.StatusNotFound, "There is no such API token.")
	}
	if err := s.deps.Users.RevokeUserToken(c.Request().Context(), name, id); err != nil {
		return err
	}
	s.log.Info("token revoked", slog.String("user", name), slog.Int64("token", id), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, string(templates.UserPath(name, "?done=revoked#user-tokens")))
}
