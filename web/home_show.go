package web

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// homeRoleLeads greet each role with what it does here, in the order they are shown.
var homeRoleLeads = []struct{ role, lead string }{
	{store.RoleAnalyst, "Draw workflows as graphs, publish versions and start runs."},
	{store.RoleReviewer, "Decide the steps of runs that wait for a person: tasks for you and your groups."},
	{store.RoleDeveloper, "Follow every run: its status, its timeline of steps, attempts and errors."},
}

// homeShow is the start page: what the user's roles do, the open tasks of a reviewer, and a
// card for each section the roles open.
func (s *Server) homeShow(c echo.Context) error {
	p := templates.HomeProps{}
	v := viewer(c)
	if v != nil {
		p.Links = v.Nav
	}
	switch {
	case v.HasRole(store.RoleAdmin):
		p.Leads = []string{"You manage people, LLM providers and secrets, and may do all that the other roles do."}
	default:
		for _, r := range homeRoleLeads {
			if v.HasRole(r.role) {
				p.Leads = append(p.Leads, r.lead)
			}
		}
	}
	if v.HasRole(store.RoleReviewer) && s.deps.Tasks != nil {
		counts, err := s.deps.Tasks.CountOpen(c.Request().Context(), CurrentUser(c))
		if err != nil {
			s.log.Warn("count open tasks for the home page", slog.Any("error", err))
		} else {
			p.ShowTasks, p.OpenTasks = true, counts.Total()
		}
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Home", Body: templates.Home(p)})
}
