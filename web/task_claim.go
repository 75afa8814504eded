package web

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/web/schemaform"
)

// claim claims or gives back a group task for the current user.
func (s *Server) claim(c echo.Context, t *store.Task, claim bool) error {
	u := CurrentUser(c)
	ctx := c.Request().Context()
	var err error
	if claim {
		err = s.deps.Tasks.ClaimTask(ctx, t.ID, u)
	} else {
		err = s.deps.Tasks.UnclaimTask(ctx, t.ID, u)
	}
	if err != nil {
		return err
	}
	s.log.Info("task claim", slog.String("task", t.ID), slog.Bool("claimed", claim), slog.String("by", u.Name))
	return nil
}

// taskClaim takes the claim and unclaim buttons of a task page and goes back to it; a
// refusal shows the page with the reason.
func (s *Server) taskClaim(claim bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := s.taskParam(c)
		if err != nil {
			return err
		}
		if err := s.claim(c, t, claim); err != nil {
			ae := AsError(err)
			if ae.Status >= 500 {
				return err
			}
			if fresh, gerr := s.deps.Tasks.GetTask(c.Request().Context(), t.ID); gerr == nil {
				t = fresh
			}
			sch, serr := taskSchema(t)
			if serr != nil {
				return serr
			}
			p := s.taskPageProps(c, t, sch)
			p.Form.Fields = schemaform.Fields(sch)
			p.Error = ae.Message
			return s.renderTaskPage(c, ae.Status, p)
		}
		m := "claimed"
		if !claim {
			m = "unclaimed"
		}
		return c.Redirect(http.StatusSeeOther, "/tasks/"+url.PathEscape(t.ID)+"?m="+m)
	}
}
