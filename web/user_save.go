package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// userSave adds a user or updates the one with that name, then shows the list again.
func (s *Server) userSave(c echo.Context) error {
	ctx := c.Request().Context()
	form := templates.UserForm{
		Name:   strings.TrimSpace(c.FormValue("name")),
		Roles:  c.Request().Form["roles"],
		Groups: strings.TrimSpace(c.FormValue("groups")),
		Errors: map[string]string{},
	}
	password := c.FormValue("password")
	groups := splitList(form.Groups)

	users, err := s.deps.Users.ListUsers(ctx)
	if err != nil {
		return err
	}
	exists := slices.ContainsFunc(users, func(u store.User) bool { return u.Name == form.Name })

	if err := store.ValidateUserName(form.Name); err != nil {
		form.Errors["name"] = sentence(err.Error()) + "."
	}
	switch {
	case password == "" && !exists:
		form.Errors["password"] = "A new user needs a password."
	case password != "" && len(password) < store.MinPasswordLength:
		form.Errors["password"] = fmt.Sprintf("Use at least %d characters.", store.MinPasswordLength)
	case len(password) > store.MaxPasswordLength:
		form.Errors["password"] = fmt.Sprintf("Use at most %d bytes.", store.MaxPasswordLength)
	}
	for _, r := range form.Roles {
		if !store.ValidRole(r) {
			form.Errors["roles"] = fmt.Sprintf("Unknown role %q.", r)
		}
	}
	if me := CurrentUser(c); me != nil && me.Name == form.Name && !slices.Contains(form.Roles, store.RoleAdmin) {
		form.Errors["roles"] = "You cannot take the admin role away from yourself."
	}
	for _, g := range groups {
		if err := store.ValidateGroupName(g); err != nil {
			form.Errors["groups"] = sentence(err.Error()) + "."
			break
		}
	}
	if len(form.Errors) > 0 {
		form.Error = "The user was not saved. Correct the fields marked below."
		return s.renderUsers(c, http.StatusUnprocessableEntity, usersProps(users, form))
	}

	u, created, err := s.deps.Users.UpsertUser(ctx, store.UserInput{Name: form.Name, Password: password, Roles: form.Roles, Groups: groups})
	if errors.Is(err, store.ErrInvalid) {
		form.Error = sentence(err.Error()) + "."
		return s.renderUsers(c, http.StatusUnprocessableEntity, usersProps(users, form))
	}
	if err != nil {
		return err
	}
	s.log.Info("user saved", slog.String("user", u.Name), slog.Bool("created", created),
		slog.String("by", CurrentUser(c).Name))
	q := url.Values{"saved": {u.Name}}
	if created {
		q.Set("created", "1")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users?"+q.Encode())
}

// splitList splits "a, b c" into its non-empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}
