package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/static"
	"trellis/store"
	"trellis/templates"
)

// editorKind is one kind of the catalogue as the editor script needs it: how to draw it and
// which ports it has. Config fields stay on the server, which renders the settings form.
type editorKind struct {
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Description string   `json:"description"`
	Icon        string   `json:"icon"`
	Color       string   `json:"color"`
	Ports       []string `json:"ports"` // empty for approval: its ports are its outcomes
	DoesWork    bool     `json:"does_work"`
}

// editorData is the JSON data block the editor script starts from.
type editorData struct {
	GraphID         string             `json:"graph_id"`
	Revision        int64              `json:"revision"`
	Draft           json.RawMessage    `json:"draft"`
	Problems        []designer.Problem `json:"problems"`
	Kinds           []editorKind       `json:"kinds"`
	DefaultOutcomes []string           `json:"default_outcomes"`
	URLs            editorURLs         `json:"urls"`
}

type editorURLs struct {
	Graph    string `json:"graph"`     // GET the graph (API)
	Draft    string `json:"draft"`     // PUT the draft (API)
	Versions string `json:"versions"`  // POST a version (API)
	NodeForm string `json:"node_form"` // POST a node, get its settings form
	Preview  string `json:"preview"`   // POST a transform's value, get it evaluated with the last run
	Overview string `json:"overview"`  // the graph's page
	Graphs   string `json:"graphs"`    // POST a new graph (API): a map's or loop's body
	Dagre    string `json:"dagre"`     // the layout library, loaded on first use
}

// editorKinds converts the catalogue for the script and the palette.
func editorKinds() ([]editorKind, []templates.EditorPaletteKind) {
	var kinds []editorKind
	var palette []templates.EditorPaletteKind
	for _, k := range designer.Kinds() {
		ports := k.Ports
		if ports == nil {
			ports = []string{}
		}
		kinds = append(kinds, editorKind{Name: k.Name, Label: k.Label, Description: k.Description,
			Icon: k.Icon, Color: k.Color, Ports: ports, DoesWork: k.DoesWork})
		palette = append(palette, templates.EditorPaletteKind{Name: k.Name, Label: k.Label,
			Description: k.Description, Icon: k.Icon, Color: k.Color})
	}
	return kinds, palette
}

// editorShow is the visual editor of a graph's draft.
func (s *Server) editorShow(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidGraphID(id) {
		return NewError(http.StatusNotFound, defaultMessage(http.StatusNotFound))
	}
	ctx := c.Request().Context()
	g, err := s.deps.Graphs.GetGraph(ctx, id)
	if err != nil {
		return fmt.Errorf("edit graph %s: %w", id, err)
	}
	// The same validation as the graph API's, so the problems match those of the first save.
	doc, problems := s.draftProblems(ctx, g)
	if doc == nil {
		return NewError(http.StatusUnprocessableEntity, "The draft of this graph cannot be opened in the editor. "+problems[0].Message)
	}
	kinds, palette := editorKinds()
	data := editorData{
		GraphID:         id,
		Revision:        g.DraftRevision,
		Draft:           g.Draft,
		Problems:        problems,
		Kinds:           kinds,
		DefaultOutcomes: designer.DefaultOutcomes,
		URLs: editorURLs{
			Graph:    "/api/v1/graphs/" + id,
			Draft:    "/api/v1/graphs/" + id + "/draft",
			Versions: "/api/v1/graphs/" + id + "/versions",
			NodeForm: "/graphs/" + id + "/edit/node-form",
			Preview:  "/graphs/" + id + "/edit/preview",
			Overview: "/graphs/" + id,
			Graphs:   "/api/v1/graphs",
			Dagre:    static.URL(editorDagreFile),
		},
	}
	props := templates.EditorProps{
		GraphID:  id,
		Name:     g.Name,
		Palette:  palette,
		Settings: editorSettings(doc),
		Data:     data,
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Edit " + g.Name, Section: "/graphs", Body: templates.Editor(props)})
}

// editorDagreFile is the vendored layout library (static/vendor/README.md).
const editorDagreFile = "vendor/dagre-3.1.3.min.js"

// editorSettings fills the graph-level fields shown when nothing is selected.
func editorSettings(g *designer.Graph) templates.EditorGraphSettings {
	st := templates.EditorGraphSettings{Name: g.Name, Description: g.Description, Output: g.Output}
	if len(bytes.TrimSpace(g.Input)) > 0 {
		st.Input = editorIndentJSON(g.Input)
		if s, ok := nodeRawString(g.Input); ok {
			st.Input = s // text typed in the editor that is not JSON yet
		}
	}
	return st
}

// editorIndentJSON pretty-prints raw JSON keeping the order of its keys; text that is not JSON is
// returned as it is.
func editorIndentJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(raw), "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
