package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// nodeFormRequest is what the editor posts to get a node's settings form: the node as it is
// in the browser's draft, and the ids of the other nodes, so that expressions naming them
// are checked as they will be on save.
type nodeFormRequest struct {
	Node    json.RawMessage `json:"node"`
	NodeIDs []string        `json:"node_ids"`
}

// editorNodeForm renders the settings form of one node, generated from the kind catalogue,
// with the node's values filled in and its problems shown beside the fields they concern.
func (s *Server) editorNodeForm(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidGraphID(id) {
		return NewError(http.StatusNotFound, defaultMessage(http.StatusNotFound))
	}
	ctx := c.Request().Context()
	if _, err := s.deps.Graphs.GetGraph(ctx, id); err != nil {
		return fmt.Errorf("node form of graph %s: %w", id, err)
	}
	var req nodeFormRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	node, problems, err := checkEditorNode(req, s.actions.ValidateEnv(ctx, id))
	if err != nil {
		return err
	}
	props := nodeFormProps(id, req.Node, node, problems)
	if err := s.graphRefs(ctx, &props); err != nil {
		return err
	}
	bodyGraphStarters(&props)
	if node.Kind == designer.KindAgent {
		if err := s.agentToolsForm(ctx, &props, id, req.Node, problems); err != nil {
			return err
		}
	}
	return RenderFragment(c, http.StatusOK, templates.NodeForm(props))
}

// checkEditorNode parses and validates the node inside a graph made of it and stand-ins for the
// other nodes, and returns it with its own problems. Edges are not known here; the problems
// they cause (ports, cycles) come with the next save of the draft.
func checkEditorNode(req nodeFormRequest, env designer.ValidateEnv) (designer.Node, []designer.Problem, error) {
	trimmed := bytes.TrimSpace(req.Node)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return designer.Node{}, nil, NewError(http.StatusBadRequest, "The request needs the node as a JSON object in \"node\".")
	}
	if len(req.NodeIDs) > designer.DefaultLimits.MaxNodes {
		return designer.Node{}, nil, NewError(http.StatusBadRequest, fmt.Sprintf("A graph has at most %d nodes.", designer.DefaultLimits.MaxNodes))
	}
	var head struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(trimmed, &head) // a node without a readable id is reported by Parse
	var doc bytes.Buffer
	doc.WriteString(`{"format":"` + designer.Format + `","name":"node","nodes":[`)
	doc.Write(trimmed)
	seen := map[string]bool{head.ID: true}
	for _, other := range req.NodeIDs {
		if seen[other] || !designer.ValidNodeID(other) {
			continue
		}
		seen[other] = true
		// A stand-in that is valid on its own, so that it adds no problems of its own.
		fmt.Fprintf(&doc, `,{"id":%q,"kind":"transform","config":{"value":null}}`, other)
	}
	doc.WriteString(`],"edges":[]}`)
	g, probs, err := designer.ParseAndValidate(doc.Bytes(), designer.Limits{MaxBytes: doc.Len() + 1}, env)
	if err != nil || len(g.Nodes) == 0 {
		return designer.Node{}, nil, NewError(http.StatusBadRequest, "The node cannot be read.")
	}
	var own []designer.Problem
	for _, p := range probs {
		if p.Node == g.Nodes[0].ID && p.Edge == nil {
			p.Field = strings.TrimPrefix(p.Field, "nodes[0].")
			own = append(own, p)
		}
	}
	return g.Nodes[0], own, nil
}
