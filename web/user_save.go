package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// userSave changes a user's roles, groups and password. A save that would remove roles asks
// first: the page comes back with the question and the form as submitted, and only a form
// that confirms exactly those roles (confirm_remove) is saved.
func (s *Server) userSave(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.userEditProps(ctx, c, c.Param("name"))
	if err != nil {
		return err
	}
	params, err := c.FormParams()
	if err != nil {
		return NewError(http.StatusBadRequest, "The form could not be read.")
	}
	form := templates.UserEditForm{
		Roles:  params["roles"],
		Groups: strings.TrimSpace(params.Get("groups")),
		Errors: map[string]string{},
	}
	password := params.Get("password")
	groups := splitList(form.Groups)
	form.Errors["roles"] = rolesProblem(form.Roles)
	if p.Self && !slices.Contains(form.Roles, store.RoleAdmin) {
		form.Errors["roles"] = "You cannot take the admin role away from yourself."
	}
	form.Errors["groups"] = groupsProblem(groups)
	switch {
	case password == "":
	case len(password) < store.MinPasswordLength:
		form.Errors["password"] = fmt.Sprintf("Use at least %d characters.", store.MinPasswordLength)
	case len(password) > store.MaxPasswordLength:
		form.Errors["password"] = fmt.Sprintf("Use at most %d bytes.", store.MaxPasswordLength)
	}
	p.Form = form
	if hasErrors(form.Errors) {
		p.Form.Error = "Nothing was saved. Correct the fields marked below."
		return s.renderUserEdit(c, http.StatusUnprocessableEntity, p)
	}

	var removed []string
	for _, r := range p.User.Roles {
		if !slices.Contains(form.Roles, r) {
			removed = append(removed, r)
		}
	}
	if len(removed) > 0 && params.Get("confirm_remove") != strings.Join(removed, ",") {
		p.Confirm = removed
		p.PasswordDropped = password != ""
		return s.renderUserEdit(c, http.StatusOK, p)
	}

	var keep string
	if ck, err := c.Cookie(SessionCookie); err == nil {
		keep = ck.Value // an admin editing themselves stays signed in
	}
	u, ch, err := s.deps.Users.UpdateUser(ctx, p.User.Name, store.UserUpdate{Roles: form.Roles, Groups: groups, Password: password, KeepSession: keep})
	switch {
	case errors.Is(err, store.ErrConflict):
		p.Form.Error = sentence(err.Error()) + "."
		return s.renderUserEdit(c, http.StatusConflict, p)
	case errors.Is(err, store.ErrInvalid):
		p.Form.Error = sentence(err.Error()) + "."
		return s.renderUserEdit(c, http.StatusUnprocessableEntity, p)
	case err != nil:
		return err
	}
	done := "saved"
	switch {
	case !ch.Changed():
		done = "unchanged"
	case ch.PasswordChanged || len(ch.RolesRemoved) > 0:
		done = "signed-out-revoked"
	case len(ch.RolesAdded) > 0:
		done = "signed-out"
	}
	s.log.Info("user updated", slog.String("user", u.Name), slog.Any("roles_added", ch.RolesAdded),
		slog.Any("roles_removed", ch.RolesRemoved), slog.Bool("groups_changed", ch.GroupsChanged),
		slog.Bool("password_changed", ch.PasswordChanged), slog.Int64("sessions_ended", ch.SessionsEnded), slog.Int64("tokens_revoked", ch.TokensRevoked),
		slog.String("by", CurrentUser(c).Name))
	return c.Redirect(http.StatusSeeOther, string(templates.UserPath(u.Name, "?done="+done)))
}
