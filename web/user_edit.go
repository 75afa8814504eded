package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// userNotices are the confirmations a user's page shows after a redirect (?done=KEY); fixed
// texts, so a link cannot put words on the page. %s is the user's name.
var userNotices = map[string]string{
	"saved":              "Saved %s.",
	"signed-out":         "Saved %s and signed them out everywhere: they sign in again with the new password or roles. Their API tokens act with the new roles.",
	"signed-out-revoked": "Saved %s, signed them out everywhere and revoked their API tokens: they sign in again with the new password or roles, and need new tokens.",
	"unchanged":          "Nothing changed for %s.",
	"disabled":           "Disabled %s: their sessions ended and their API tokens were revoked.",
	"enabled":            "Enabled %s: they can sign in again.",
	"revoked":            "Revoked the API token of %s.",
}

// userEdit shows one user's page: roles, groups, password, access and API tokens.
func (s *Server) userEdit(c echo.Context) error {
	p, err := s.userEditProps(c.Request().Context(), c, c.Param("name"))
	if err != nil {
		return err
	}
	if msg, ok := userNotices[c.QueryParam("done")]; ok {
		p.Notice = strings.ReplaceAll(msg, "%s", p.User.Name)
	}
	return s.renderUserEdit(c, http.StatusOK, p)
}

// userEditProps reads the user and their tokens into the page, the form filled as stored.
func (s *Server) userEditProps(ctx context.Context, c echo.Context, name string) (templates.AdminUserEditProps, error) {
	u, err := s.deps.Users.UserByName(ctx, name)
	if err != nil {
		return templates.AdminUserEditProps{}, err
	}
	tokens, err := s.deps.Users.ListTokens(ctx, u.Name)
	if err != nil {
		return templates.AdminUserEditProps{}, err
	}
	p := templates.AdminUserEditProps{
		User:      userRow(u),
		Self:      CurrentUser(c).ID == u.ID,
		Form:      templates.UserEditForm{Roles: u.Roles, Groups: strings.Join(u.Groups, ", ")},
		RoleNames: store.Roles,
	}
	for _, t := range tokens {
		p.Tokens = append(p.Tokens, templates.TokenRow{ID: t.ID, Label: t.Label, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	return p, nil
}

func (s *Server) renderUserEdit(c echo.Context, status int, p templates.AdminUserEditProps) error {
	return Render(c, status, templates.Page{Title: "User " + p.User.Name, Section: "/admin/users", Body: templates.AdminUserEdit(p)})
}

// userRefused shows the user's page with why an action was refused.
func (s *Server) userRefused(c echo.Context, status int, problem string) error {
	p, err := s.userEditProps(c.Request().Context(), c, c.Param("name"))
	if err != nil {
		return err
	}
	p.Problem = problem
	return s.renderUserEdit(c, status, p)
}
