package web

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"trellis/templates"
)

// tokenList shows every API token with its owner (issue 18: tokens on the admin pages).
func (s *Server) tokenList(c echo.Context) error {
	tokens, err := s.deps.Users.ListTokens(c.Request().Context(), "")
	if err != nil {
		return err
	}
	p := templates.AdminTokensProps{Tokens: make([]templates.TokenListRow, 0, len(tokens))}
	for _, t := range tokens {
		p.Tokens = append(p.Tokens, templates.TokenListRow{User: t.UserName,
			TokenRow: templates.TokenRow{ID: t.ID, Label: t.Label, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}})
	}
	// Confirm only a token that is really gone, so a link cannot put words on the page.
	if id, err := strconv.ParseInt(c.QueryParam("revoked"), 10, 64); err == nil && id > 0 {
		p.Revoked = id
		for _, t := range tokens {
			if t.ID == id {
				p.Revoked = 0
			}
		}
	}
	return Render(c, http.StatusOK, templates.Page{Title: "API tokens", Section: "/admin/users", Body: templates.AdminTokens(p)})
}

// tokenRevoke revokes one token of the user the form names (so a stale form for a token
// since given to no one, or a made-up pair, is 404), and comes back to the list.
func (s *Server) tokenRevoke(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	user := c.FormValue("user")
	if err != nil || id <= 0 || user == "" {
		return NewError(http.StatusNotFound, "There is no such API token.")
	}
	if err := s.deps.Users.RevokeUserToken(c.Request().Context(), user, id); err != nil {
		return err
	}
	s.log.Info("token revoked", slog.String("user", user), slog.Int64("token", id), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/tokens?revoked="+strconv.FormatInt(id, 10))
}
