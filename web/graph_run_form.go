package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/store"
	"trellis/templates"
	"trellis/web/schemaform"
)

// graphRunForm builds the start-run form of a version from its input schema.
func graphRunForm(graphID string, version int, def *designer.Graph) (templates.RunFormProps, error) {
	sch, err := designer.CompileSchema(def.Input)
	if err != nil {
		return templates.RunFormProps{}, NewError(http.StatusUnprocessableEntity, fmt.Sprintf("The input schema of version %d cannot be used: %v.", version, err))
	}
	p := templates.RunFormProps{GraphID: graphID, Version: version, Fields: schemaform.Fields(sch)}
	if len(p.Fields) == 0 {
		p.JSON = "{}"
	}
	return p, nil
}

// readGraphRunForm reads the submitted form into an input value: the whole input as JSON when
// given, else the fields. It returns the form as submitted, with an inline error on each field
// that could not be read.
func readGraphRunForm(c echo.Context, form templates.RunFormProps) (map[string]any, templates.RunFormProps, bool) {
	form.JSON = c.FormValue("input_json")
	if raw := strings.TrimSpace(form.JSON); raw != "" {
		form.UseJSON = true
		var v map[string]any
		if err := json.Unmarshal([]byte(raw), &v); err != nil || v == nil {
			form.JSONError = "Write the input as one JSON object, such as {\"amount\": 12}."
			return nil, form, false
		}
		return v, form, true
	}
	input, fields, ok := readSchemaForm(c, templates.RunFormNames, form.Fields)
	form.Fields = fields
	return input, form, ok
}

// startFromRunForm reads the start form (of a version or of a draft), checks the input
// against sch and starts the run with start. A status other than 0 means no run started: the
// form then carries why, on each field where it can. what names the run in the form's
// message ("The run"); err is the server's own failure.
func startFromRunForm(c echo.Context, form *templates.RunFormProps, sch *designer.Schema, what string,
	start func(input map[string]any) (string, error)) (id string, status int, err error) {
	input, read, ok := readGraphRunForm(c, *form)
	*form = read
	if ok {
		if n := len(schemaform.JSONText(input)); n > maxGraphRunInput {
			form.Error = fmt.Sprintf("The input is %d bytes; a run input may be at most 256 KiB.", n)
			return "", http.StatusRequestEntityTooLarge, nil
		}
		if errs := checkRunInput(sch, input); len(errs) > 0 {
			runPlaceErrors(form, errs)
			ok = false
		}
	}
	if !ok {
		form.Error = what + " was not started. Correct the fields marked below."
		return "", http.StatusUnprocessableEntity, nil
	}
	id, err = start(input)
	if err != nil {
		ae := formRefusal(err)
		if ae == nil {
			return "", 0, err
		}
		form.Error = ae.Message
		return "", ae.Status, nil
	}
	return id, 0, nil
}

// runPlaceErrors puts each schema error on its field (by the first step of its path), and the
// rest on the form.
func runPlaceErrors(form *templates.RunFormProps, errs []designer.FieldError) {
	for _, fe := range errs {
		if steps := schemaform.PointerSteps(fe.Path); !form.UseJSON && len(steps) > 0 && schemaform.PlaceError(form.Fields, steps[0], fe.Message) {
			continue
		}
		msg := fe.Message
		if fe.Path != "" && form.UseJSON {
			msg = fe.Path + ": " + msg
		}
		form.Errors = append(form.Errors, msg)
	}
}

// formRefusal is a refused start or decision as the form shows it again, or nil when the
// error is the server's own (the error page then says so).
func formRefusal(err error) *Error {
	ae := AsError(err)
	if ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable {
		return nil
	}
	return ae
}

// graphRunNew is the start-run page: a form made from the chosen version's input schema.
func (s *Server) graphRunNew(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	p, _, _, err := s.graphRunFormPage(c, g, c.QueryParam("version"))
	if err != nil {
		return err
	}
	return s.renderGraphRunPage(c, http.StatusOK, g, p)
}

// graphRunFormPage is the start-run page for the version asked (raw, as the form or query
// gives it) with its form; a nil version means nothing can run, and p.Unavailable says why.
func (s *Server) graphRunFormPage(c echo.Context, g *store.Graph, raw string) (templates.RunPageProps, *store.Version, *designer.Graph, error) {
	asked, split, err := runFormVersion(raw)
	if err != nil {
		return templates.RunPageProps{}, nil, nil, err
	}
	p, v, err := s.graphRunPageProps(c, g, asked)
	if err != nil || v == nil {
		return p, nil, nil, err
	}
	def, err := parseVersionDefinition(v)
	if err != nil {
		return p, nil, nil, err
	}
	if p.Form, err = graphRunForm(g.ID, v.Version, def); err != nil {
		return p, nil, nil, err
	}
	p.Form.Split = split
	return p, v, def, nil
}

// graphRunPageProps reads the versions and picks one; with nothing to run it returns a nil
// version and the reason in Unavailable.
func (s *Server) graphRunPageProps(c echo.Context, g *store.Graph, asked int) (templates.RunPageProps, *store.Version, error) {
	ctx := c.Request().Context()
	p := templates.RunPageProps{Header: templates.GraphHeaderProps{ID: g.ID, Name: g.Name, Current: "run",
		LatestVersion: g.LatestVersion, CanEdit: true}}
	versions, err := s.deps.Graphs.ListVersions(ctx, g.ID)
	if err != nil {
		return p, nil, err
	}
	p.Versions = graphVersionRows(versions)
	p.SplitText = s.splitText(ctx, g.ID)
	v, err := s.graphPickVersion(ctx, g.ID, asked)
	if ae := AsError(err); err != nil && ae.Status == http.StatusConflict {
		p.Unavailable = ae.Message
		return p, nil, nil
	}
	if err != nil {
		return p, nil, err
	}
	if s.deps.Runs == nil {
		p.Unavailable = "Runs cannot start: this server is not connected to the workflow engine."
		return p, nil, nil
	}
	return p, v, nil
}

func (s *Server) renderGraphRunPage(c echo.Context, status int, g *store.Graph, p templates.RunPageProps) error {
	return Render(c, status, templates.Page{Title: "Start a run of " + g.Name, Section: "/graphs", Body: templates.GraphRunPage(p)})
}

// graphRunSubmit starts a run from the start-run form (of the run page or a version page):
// inline errors when the input does not fit, else on to the run's page.
func (s *Server) graphRunSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	p, v, def, err := s.graphRunFormPage(c, g, c.FormValue("version"))
	if err != nil {
		return err
	}
	if v == nil {
		return s.renderGraphRunPage(c, http.StatusConflict, g, p)
	}
	sch, err := runInputSchema(v, def)
	if err != nil {
		return err
	}
	id, status, err := startFromRunForm(c, &p.Form, sch, "The run", func(input map[string]any) (string, error) {
		req := actions.StartRequest{GraphID: g.ID, Version: v.Version, Input: input, By: graphActor(c)}
		if p.Form.Split {
			req.Version = 0 // the traffic split picks it (actions/traffic.go)
		}
		run, err := s.actions.StartRun(ctx, req)
		if err != nil {
			return "", err
		}
		return run.RunID, nil
	})
	if err != nil {
		return err
	}
	if status != 0 {
		return s.renderGraphRunPage(c, status, g, p)
	}
	return c.Redirect(http.StatusSeeOther, "/runs/"+url.PathEscape(id))
}
