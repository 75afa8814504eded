package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/store"
	"trellis/templates"
)

// hookFormLimit bounds the hook forms and bodies: a name and two choices.
const hookFormLimit = 16 << 10

type hookCreateRequest struct {
	Name    string          `json:"name"`
	Auth    string          `json:"auth"`
	Version json.RawMessage `json:"version"`
}

type hookCreateResponse struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

type hookListEntry struct {
	store.Hook
	URL        string               `json:"url"`
	Enabled    bool                 `json:"enabled"`
	Deliveries []store.HookDelivery `json:"deliveries"`
}

// parseTriggerVersion reads "latest", "" or a version number; 0 is the latest.
func parseTriggerVersion(text string) (int, error) {
	text = strings.Trim(strings.TrimSpace(text), `"`)
	if text == "" || text == "latest" || text == "null" {
		return 0, nil
	}
	return parseGraphVersion(text)
}

// hookCreateAPI answers POST /api/v1/graphs/{id}/hooks {name, auth, version?}: 201 {id,
// url, secret}; the secret is shown this once.
func (s *Server) hookCreateAPI(c echo.Context) error {
	var req hookCreateRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	v, err := parseTriggerVersion(string(req.Version))
	if err != nil {
		return err
	}
	if req.Auth == "" {
		req.Auth = store.HookAuthHMAC
	}
	made, err := s.triggers().CreateHook(c.Request().Context(), store.Hook{GraphID: c.Param("id"), Name: req.Name, Auth: req.Auth, Version: v, CreatedBy: graphActor(c)})
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, hookCreateResponse{ID: made.Hook.ID, URL: s.hookURL(c, made.Hook.ID), Secret: made.Secret})
}

// hookListAPI answers GET /api/v1/graphs/{id}/hooks: the hooks with their last deliveries.
func (s *Server) hookListAPI(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	t := s.triggers()
	hooks, err := t.Hooks(c.Request().Context(), g.ID)
	if err != nil {
		return err
	}
	out := make([]hookListEntry, 0, len(hooks))
	for _, h := range hooks {
		ds, err := t.HookDeliveries(c.Request().Context(), h.ID, deliveriesShown)
		if err != nil {
			return err
		}
		if ds == nil {
			ds = []store.HookDelivery{}
		}
		out = append(out, hookListEntry{Hook: h, URL: s.hookURL(c, h.ID), Enabled: h.Enabled(), Deliveries: ds})
	}
	return c.JSON(http.StatusOK, out)
}

// hookRotateAPI answers POST /api/v1/graphs/{id}/hooks/{hook}/rotate: 200 {id, url, secret}.
func (s *Server) hookRotateAPI(c echo.Context) error {
	secret, err := s.triggers().RotateHook(c.Request().Context(), c.Param("id"), c.Param("hook"), graphActor(c))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, hookCreateResponse{ID: c.Param("hook"), URL: s.hookURL(c, c.Param("hook")), Secret: secret})
}

// hookPatchAPI answers PATCH /api/v1/graphs/{id}/hooks/{hook} {enabled}: 204.
func (s *Server) hookPatchAPI(c echo.Context) error {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Enabled == nil {
		return NewError(http.StatusBadRequest, "Send {\"enabled\": true} or {\"enabled\": false}.")
	}
	if err := s.triggers().SetHookEnabled(c.Request().Context(), c.Param("id"), c.Param("hook"), *req.Enabled, graphActor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// hookCreate is the Triggers tab's new-hook form: the page again with the secret shown once
// (never in a URL), or with the form's error.
func (s *Server) hookCreate(c echo.Context) error {
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return formError(err)
	}
	form := templates.HookForm{Name: strings.TrimSpace(req.PostFormValue("name")), Auth: req.PostFormValue("auth"), Version: req.PostFormValue("version")}
	v, err := parseTriggerVersion(form.Version)
	var made *actions.CreatedHook
	if err == nil {
		made, err = s.triggers().CreateHook(req.Context(), store.Hook{GraphID: c.Param("id"), Name: form.Name, Auth: form.Auth, Version: v, CreatedBy: graphActor(c)})
	}
	p, perr := s.triggersProps(c)
	if perr != nil {
		return perr
	}
	if err != nil {
		e := AsError(err)
		if e.Status >= 500 {
			return err
		}
		form.Error = e.Message
		p.HookForm = form
		return s.renderTriggers(c, e.Status, p)
	}
	p.NewSecret = &templates.ShownSecret{HookID: made.Hook.ID, Name: made.Hook.Name, URL: s.hookURL(c, made.Hook.ID), Secret: made.Secret, Auth: made.Hook.Auth}
	p.Notice = "Webhook " + made.Hook.Name + " added."
	noStore(c)
	return s.renderTriggers(c, http.StatusCreated, p)
}

// hookRotate makes a new secret and shows it once.
func (s *Server) hookRotate(c echo.Context) error {
	t := s.triggers()
	h, err := t.GraphHook(c.Request().Context(), c.Param("id"), c.Param("hook"))
	if err != nil {
		return err
	}
	secret, err := t.RotateHook(c.Request().Context(), c.Param("id"), h.ID, graphActor(c))
	if err != nil {
		return err
	}
	p, err := s.triggersProps(c)
	if err != nil {
		return err
	}
	p.NewSecret = &templates.ShownSecret{HookID: h.ID, Name: h.Name, URL: s.hookURL(c, h.ID), Secret: secret, Auth: h.Auth}
	p.Notice = "Webhook " + h.Name + " has a new secret; the old one no longer works."
	noStore(c)
	return s.renderTriggers(c, http.StatusOK, p)
}

// hookEnable and hookDisable turn a hook's deliveries on and off.
func (s *Server) hookEnable(c echo.Context) error  { return s.hookSetEnabled(c, true) }
func (s *Server) hookDisable(c echo.Context) error { return s.hookSetEnabled(c, false) }

func (s *Server) hookSetEnabled(c echo.Context, on bool) error {
	if err := s.triggers().SetHookEnabled(c.Request().Context(), c.Param("id"), c.Param("hook"), on, graphActor(c)); err != nil {
		return err
	}
	return triggersDone(c, c.Param("id"), "Webhook "+map[bool]string{true: "enabled", false: "disabled: its deliveries are answered 404"}[on]+".")
}

// noStore keeps an answer that shows a secret out of caches and the browser's history.
func noStore(c echo.Context) { c.Response().Header().Set(echo.HeaderCacheControl, "no-store") }
