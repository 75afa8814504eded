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

// userCreate adds a user. It never changes an existing one: a taken name is refused with a
// link to that user's page, so a name-only submit cannot wipe anyone's roles.
func (s *Server) userCreate(c echo.Context) error {
	ctx := c.Request().Context()
	params, err := c.FormParams()
	if err != nil {
		return NewError(http.StatusBadRequest, "The form could not be read.")
	}
	form := templates.UserForm{
		Name:   strings.TrimSpace(params.Get("name")),
		Roles:  params["roles"],
		Groups: strings.TrimSpace(params.Get("groups")),
		Errors: map[string]string{},
	}
	password := params.Get("password")
	groups := splitList(form.Groups)

	users, err := s.deps.Users.ListUsers(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(users, func(u store.User) bool { return u.Name == form.Name }) {
		return s.refuseExisting(c, users, form)
	}
	if err := store.ValidateUserName(form.Name); err != nil {
		form.Errors["name"] = sentence(err.Error()) + "."
	}
	switch {
	case password == "":
		form.Errors["password"] = "A new user needs a password."
	case len(password) < store.MinPasswordLength:
		form.Errors["password"] = fmt.Sprintf("Use at least %d characters.", store.MinPasswordLength)
	case len(password) > store.MaxPasswordLength:
		form.Errors["password"] = fmt.Sprintf("Use at most %d bytes.", store.MaxPasswordLength)
	}
	form.Errors["roles"] = rolesProblem(form.Roles)
	form.Errors["groups"] = groupsProblem(groups)
	if hasErrors(form.Errors) {
		form.Error = "The user was not added. Correct the fields marked below."
		return s.renderUsers(c, http.StatusUnprocessableEntity, usersProps(users, form))
	}

	u, err := s.deps.Users.CreateUser(ctx, store.UserInput{Name: form.Name, Password: password, Roles: form.Roles, Groups: groups})
	switch {
	case errors.Is(err, store.ErrConflict):
		// Added by someone else since the list was read.
		return s.refuseExisting(c, users, form)
	case errors.Is(err, store.ErrInvalid):
		form.Error = sentence(err.Error()) + "."
		return s.renderUsers(c, http.StatusUnprocessableEntity, usersProps(users, form))
	case err != nil:
		return err
	}
	s.log.Info("user added", slog.String("user", u.Name), slog.Any("roles", u.Roles), slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, "/admin/users?"+url.Values{"added": {u.Name}}.Encode())
}

// refuseExisting answers an add for a name that is taken, changing nothing.
func (s *Server) refuseExisting(c echo.Context, users []store.User, form templates.UserForm) error {
	form.Errors = map[string]string{"name": "This name is taken."}
	form.Error = fmt.Sprintf("A user named %s already exists, and adding never changes an existing user. To change their roles, groups or password, open their page.", form.Name)
	form.Existing = true
	return s.renderUsers(c, http.StatusConflict, usersProps(users, form))
}

// rolesProblem returns a message for the first unknown role, or "".
func rolesProblem(roles []string) string {
	for _, r := range roles {
		if !store.ValidRole(r) {
			return fmt.Sprintf("Unknown role %q.", r)
		}
	}
	return ""
}

// groupsProblem returns a message for the first invalid group name, or "".
func groupsProblem(groups []string) string {
	for _, g := range groups {
		if err := store.ValidateGroupName(g); err != nil {
			return sentence(err.Error()) + "."
		}
	}
	return ""
}

// hasErrors reports whether any field has a message.
func hasErrors(errs map[string]string) bool {
	for _, m := range errs {
		if m != "" {
			return true
		}
	}
	return false
}

// splitList splits "a, b c" into its non-empty items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}
