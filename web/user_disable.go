package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// msgSelfAccess refuses taking away the access of the admin who asks.
const msgSelfAccess = "You cannot disable or delete your own account: another admin must do it."

// userDisable disables a user: their sessions end and their API tokens are revoked at once.
func (s *Server) userDisable(c echo.Context) error {
	name := c.Param("name")
	if CurrentUser(c).Name == name {
		return s.userRefused(c, http.StatusConflict, msgSelfAccess)
	}
	ended, err := s.deps.Users.DisableUser(c.Request().Context(), name)
	if errors.Is(err, store.ErrConflict) {
		return s.userRefused(c, http.StatusConflict, sentence(err.Error())+".")
	}
	if err != nil {
		return err
	}
	s.log.Info("user disabled", slog.String("user", name), slog.Int64("sessions_ended", ended.Sessions),
		slog.Int64("tokens_revoked", ended.Tokens), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, string(templates.UserPath(name, "?done=disabled")))
}

// userEnable lets a disabled user sign in again.
func (s *Server) userEnable(c echo.Context) error {
	name := c.Param("name")
	if err := s.deps.Users.EnableUser(c.Request().Context(), name); err != nil {
		return err
	}
	s.log.Info("user enabled", slog.String("user", name), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, string(templates.UserPath(name, "?done=enabled")))
}
