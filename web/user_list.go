package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// userList shows every user, each linking to their page, and the form that adds one.
func (s *Server) userList(c echo.Context) error {
	users, err := s.deps.Users.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	props := usersProps(users, templates.UserForm{})
	// Confirm only names that are really (or no longer) users, so a link cannot put arbitrary
	// words on the page.
	has := func(name string) bool {
		return slices.ContainsFunc(users, func(u store.User) bool { return u.Name == name })
	}
	if added := c.QueryParam("added"); added != "" && has(added) {
		props.Added = added
	}
	if deleted := c.QueryParam("deleted"); deleted != "" && !has(deleted) && store.ValidateUserName(deleted) == nil {
		props.Deleted = deleted
	}
	return s.renderUsers(c, http.StatusOK, props)
}

func usersProps(users []store.User, form templates.UserForm) templates.AdminUsersProps {
	rows := make([]templates.UserRow, 0, len(users))
	for _, u := range users {
		rows = append(rows, userRow(&u))
	}
	return templates.AdminUsersProps{Users: rows, Form: form, RoleNames: store.Roles}
}

func userRow(u *store.User) templates.UserRow {
	return templates.UserRow{Name: u.Name, Roles: u.Roles, Groups: u.Groups, CreatedAt: u.CreatedAt, Disabled: u.Disabled()}
}

func (s *Server) renderUsers(c echo.Context, status int, p templates.AdminUsersProps) error {
	return Render(c, status, templates.Page{Title: "Users", Section: "/admin/users", Body: templates.AdminUsers(p)})
}
