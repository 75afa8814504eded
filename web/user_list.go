package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// userList shows every user and the form that adds or updates one.
func (s *Server) userList(c echo.Context) error {
	users, err := s.deps.Users.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	props := usersProps(users, templates.UserForm{})
	// Confirm only a name that is really a user, so the link cannot put words on the page.
	if saved := c.QueryParam("saved"); saved != "" && slices.ContainsFunc(users, func(u store.User) bool { return u.Name == saved }) {
		props.Saved = saved
		props.Created = c.QueryParam("created") == "1"
	}
	return s.renderUsers(c, http.StatusOK, props)
}

func usersProps(users []store.User, form templates.UserForm) templates.AdminUsersProps {
	rows := make([]templates.UserRow, 0, len(users))
	for _, u := range users {
		rows = append(rows, templates.UserRow{Name: u.Name, Roles: u.Roles, Groups: u.Groups, CreatedAt: u.CreatedAt})
	}
	return templates.AdminUsersProps{Users: rows, Form: form, RoleNames: store.Roles}
}

func (s *Server) renderUsers(c echo.Context, status int, p templates.AdminUsersProps) error {
	return Render(c, status, templates.Page{Title: "Users", Section: "/admin/users", Body: templates.AdminUsers(p)})
}
