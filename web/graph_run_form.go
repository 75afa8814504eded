package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// runFormFieldPrefix starts the names of the input fields, so that no property can clash with
// the form's own fields (_csrf, version, input_json).
const runFormFieldPrefix = "in."

// graphRunForm builds the start-run form of a version from its input schema: one control per
// top-level property, in the order the schema writes them, defaults filled in.
func graphRunForm(graphID string, version int, def *designer.Graph) (templates.RunFormProps, error) {
	sch, err := designer.CompileSchema(def.Input)
	if err != nil {
		return templates.RunFormProps{}, NewError(http.StatusUnprocessableEntity, fmt.Sprintf("The input schema of version %d cannot be used: %v.", version, err))
	}
	p := templates.RunFormProps{GraphID: graphID, Version: version}
	for _, sf := range sch.Fields() {
		f := runFormField(sf)
		f.Value, f.Checked = runDefaultText(sf)
		for i := range f.Options {
			f.Options[i].Selected = sf.Default != nil && f.Options[i].Value == runJSONText(sf.Default)
		}
		p.Fields = append(p.Fields, f)
	}
	if len(p.Fields) == 0 {
		p.JSON = "{}"
	}
	return p, nil
}

// runFormField picks the control for a schema property.
func runFormField(sf designer.SchemaField) templates.RunFormField {
	f := templates.RunFormField{Name: sf.Name, Label: sf.Label(), Hint: sf.Description, Required: sf.Required}
	switch {
	case len(sf.Enum) > 0:
		f.Control = templates.RunControlSelect
		if !sf.Required || sf.Default == nil {
			f.Options = append(f.Options, templates.RunFormOption{Value: "", Label: "Choose…"})
		}
		for _, e := range sf.Enum {
			f.Options = append(f.Options, templates.RunFormOption{Value: runJSONText(e), Label: fmt.Sprint(e)})
		}
	case sf.Type == "boolean":
		f.Control = templates.RunControlCheckbox
	case sf.Type == "number":
		f.Control = templates.RunControlNumber
	case sf.Type == "integer":
		f.Control = templates.RunControlInteger
	case sf.Type == "string":
		f.Control = runStringControl(sf)
	default: // objects, lists, and properties of no declared type take JSON
		f.Control = templates.RunControlJSON
		f.Hint = strings.TrimSpace(f.Hint + " Write it as JSON.")
	}
	if sf.Format == "date-time" || sf.Format == "time" {
		f.Hint = strings.TrimSpace(f.Hint + " " + runFormatHint(sf.Format))
	}
	return f
}

func runStringControl(sf designer.SchemaField) string {
	switch sf.Format {
	case "date":
		return templates.RunControlDate
	case "email":
		return templates.RunControlEmail
	case "uri":
		return templates.RunControlURL
	}
	// A textarea where the schema hints at long text.
	words := strings.ToLower(sf.Name + " " + sf.Title + " " + sf.Description)
	for _, w := range []string{"message", "description", "body", "text", "comment", "notes", "paragraph", "multi-line", "multiline", "long"} {
		if strings.Contains(words, w) {
			return templates.RunControlTextarea
		}
	}
	return templates.RunControlText
}

func runFormatHint(format string) string {
	if format == "time" {
		return "Like 09:00:00Z."
	}
	return "Like 2025-01-31T09:00:00Z."
}

// runDefaultText is a default as the control shows it.
func runDefaultText(sf designer.SchemaField) (string, bool) {
	switch d := sf.Default.(type) {
	case nil:
		return "", false
	case bool:
		return "", d
	case string:
		return d, false
	case float64:
		return strconv.FormatFloat(d, 'f', -1, 64), false
	}
	return runJSONText(sf.Default), false
}

func runJSONText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// readGraphRunForm reads the submitted form into an input value. It returns the form as
// submitted, with an inline error on each field that could not be read.
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
	input := map[string]any{}
	ok := true
	for i := range form.Fields {
		f := &form.Fields[i]
		raw := c.FormValue(runFormFieldPrefix + f.Name)
		f.Value, f.Checked = raw, raw == "true"
		for k := range f.Options {
			f.Options[k].Selected = f.Options[k].Value == raw
		}
		v, msg := runFieldValue(f.Control, raw)
		if msg != "" {
			f.Error, ok = msg, false
			continue
		}
		if v != nil {
			input[f.Name] = v
		}
	}
	return input, form, ok
}

// runFieldValue converts one control's text; nil means left empty.
func runFieldValue(control, raw string) (any, string) {
	if control == templates.RunControlCheckbox {
		return raw == "true", ""
	}
	if control != templates.RunControlTextarea && control != templates.RunControlText {
		raw = strings.TrimSpace(raw)
	}
	if raw == "" {
		return nil, ""
	}
	switch control {
	case templates.RunControlNumber:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, "Enter a number, such as 12.5."
		}
		return n, ""
	case templates.RunControlInteger:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "Enter a whole number, such as 3."
		}
		return float64(n), ""
	case templates.RunControlSelect, templates.RunControlJSON:
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			if control == templates.RunControlSelect {
				return nil, "Choose one of the options."
			}
			return nil, "Write valid JSON here, such as [\"a\", \"b\"] or {\"key\": 1}."
		}
		return v, ""
	}
	return raw, ""
}

// runPlaceErrors puts each schema error on its field (by the first step of its path), and the
// rest on the form.
func runPlaceErrors(form *templates.RunFormProps, errs []designer.FieldError) {
	byName := map[string]int{}
	for i, f := range form.Fields {
		byName[f.Name] = i
	}
	for _, fe := range errs {
		if i, ok := byName[runPointerHead(fe.Path)]; ok && !form.UseJSON && fe.Path != "" {
			if form.Fields[i].Error == "" {
				form.Fields[i].Error = fe.Message
			}
			continue
		}
		msg := fe.Message
		if fe.Path != "" && form.UseJSON {
			msg = fe.Path + ": " + msg
		}
		form.Errors = append(form.Errors, msg)
	}
}

// runPointerHead is the first property a JSON Pointer names ("/a~1b/0" → "a/b").
func runPointerHead(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	return strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
}

// graphRunNew is the start-run page: a form made from the chosen version's input schema.
func (s *Server) graphRunNew(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	asked := 0
	if q := c.QueryParam("version"); q != "" {
		if asked, err = parseGraphVersion(q); err != nil {
			return err
		}
	}
	p, v, err := s.graphRunPageProps(c, g, asked)
	if err != nil {
		return err
	}
	if v == nil {
		return s.renderGraphRunPage(c, http.StatusOK, g, p)
	}
	def, err := parseVersionDefinition(v)
	if err != nil {
		return err
	}
	if p.Form, err = graphRunForm(g.ID, v.Version, def); err != nil {
		return err
	}
	return s.renderGraphRunPage(c, http.StatusOK, g, p)
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
	v, err := s.graphPickVersion(ctx, g.ID, asked)
	if ae := AsError(err); err != nil && ae.Status == http.StatusConflict {
		p.Unavailable = ae.Message
		return p, nil, nil
	}
	if err != nil {
		return p, nil, err
	}
	if s.deps.Starter == nil {
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
	asked, err := parseGraphVersion(c.FormValue("version"))
	if err != nil {
		return err
	}
	p, v, err := s.graphRunPageProps(c, g, asked)
	if err != nil {
		return err
	}
	if v == nil {
		return s.renderGraphRunPage(c, http.StatusConflict, g, p)
	}
	def, err := parseVersionDefinition(v)
	if err != nil {
		return err
	}
	if p.Form, err = graphRunForm(g.ID, v.Version, def); err != nil {
		return err
	}
	input, form, ok := readGraphRunForm(c, p.Form)
	p.Form = form
	if ok {
		if n := len(runJSONText(input)); n > maxGraphRunInput {
			p.Form.Error = fmt.Sprintf("The input is %d bytes; a run input may be at most 256 KiB.", n)
			return s.renderGraphRunPage(c, http.StatusRequestEntityTooLarge, g, p)
		}
		sch, err := runInputSchema(v, def)
		if err != nil {
			return err
		}
		if errs := checkRunInput(sch, input); len(errs) > 0 {
			runPlaceErrors(&p.Form, errs)
			ok = false
		}
	}
	if !ok {
		p.Form.Error = "The run was not started. Correct the fields marked below."
		return s.renderGraphRunPage(c, http.StatusUnprocessableEntity, g, p)
	}
	id, err := s.graphStartRun(ctx, v, def, input, graphActor(c))
	if err != nil {
		ae := AsError(err)
		if ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable {
			return err
		}
		p.Form.Error = ae.Message
		return s.renderGraphRunPage(c, ae.Status, g, p)
	}
	return c.Redirect(http.StatusSeeOther, "/runs/"+url.PathEscape(id))
}
