package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// userDeleteConfirm asks before deleting a user, as a page of its own so it works without
// JavaScript.
func (s *Server) userDeleteConfirm(c echo.Context) error {
	p, err := s.userEditProps(c.Request().Context(), c, c.Param("name"))
	if err != nil {
		return err
	}
	if p.Self {
		p.Problem = msgSelfAccess
		return s.renderUserEdit(c, http.StatusConflict, p)
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Delete " + p.User.Name, Section: "/admin/users",
		Body: templates.AdminUserDelete(templates.AdminUserDeleteProps{User: p.User, Tokens: len(p.Tokens)})})
}

// userDelete deletes a user with their sessions and API tokens.
func (s *Server) userDelete(c echo.Context) error {
	name := c.Param("name")
	if CurrentUser(c).Name == name {
		return s.userRefused(c, http.StatusConflict, msgSelfAccess)
	}
	err := s.deps.Users.DeleteUser(c.Request().Context(), name)
	if errors.Is(err, store.ErrConflict) {
		return s.userRefused(c, http.StatusConflict, sentence(err.Error())+".")
	}
	if err != nil {
		return err
	}
	s.log.Info("user deleted", slog.String("user", name), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/users?"+url.Values{"deleted": {name}}.Encode())
}
