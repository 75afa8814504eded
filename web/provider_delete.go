package web

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// providerDelete removes a provider and its prices. Steps that name it fail with a message
// saying how to configure one, so the list asks before deleting (data-confirm).
func (s *Server) providerDelete(c echo.Context) error {
	name := c.Param("name")
	if err := s.deps.Providers.DeleteProvider(c.Request().Context(), name); err != nil {
		return err
	}
	s.log.Info("provider deleted", slog.String("provider", name), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/providers?"+url.Values{"deleted": {name}}.Encode())
}
