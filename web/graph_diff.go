package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// diffDraft names the draft as a side of a diff.
const diffDraft = "draft"

// graphDiffSide loads one side of a diff: "draft" or a version number.
func (s *Server) graphDiffSide(ctx context.Context, g *store.Graph, which string) (*designer.Graph, string, error) {
	if which == diffDraft {
		cd, err := s.checkGraphDoc(ctx, g.Draft, g.ID)
		if err != nil {
			e := NewError(http.StatusUnprocessableEntity, "The draft cannot be compared: "+AsError(err).Message)
			e.Err = err
			return nil, "", e
		}
		return cd.Graph, "the draft", nil
	}
	n, err := parseGraphVersion(which)
	if err != nil {
		return nil, "", NewError(http.StatusBadRequest, fmt.Sprintf("Compare %q with what? Name a version number or draft.", which))
	}
	v, err := s.deps.Graphs.GetVersion(ctx, g.ID, n)
	if err != nil {
		return nil, "", err
	}
	doc, err := parseVersionDefinition(v)
	if err != nil {
		return nil, "", err
	}
	return doc, fmt.Sprintf("version %d", n), nil
}

// graphDiffAPI answers GET /api/v1/graphs/{id}/diff?from=A&to=B (either may be "draft"):
// {graph, nodes: {added, removed, changed}, edges: {added, removed}}.
func (s *Server) graphDiffAPI(c echo.Context) error {
	ctx := c.Request().Context()
	from, to := strings.TrimSpace(c.QueryParam("from")), strings.TrimSpace(c.QueryParam("to"))
	if from == "" || to == "" {
		return NewError(http.StatusBadRequest, "Give both sides: ?from=VERSION&to=VERSION, where either may be draft.")
	}
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	a, _, err := s.graphDiffSide(ctx, g, from)
	if err != nil {
		return err
	}
	b, _, err := s.graphDiffSide(ctx, g, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, designer.Diff(a, b))
}

// graphDiff is the visual diff page: two sides chosen with selects, the `to` graph drawn
// with what changed coloured, and the changed fields node by node.
func (s *Server) graphDiff(c echo.Context) error {
	ctx := c.Request().Context()
	g, versions, err := s.graphVersionsParam(c)
	if err != nil {
		return err
	}
	from, to := defaultDiffSides(versions, strings.TrimSpace(c.QueryParam("from")), strings.TrimSpace(c.QueryParam("to")))
	a, fromLabel, err := s.graphDiffSide(ctx, g, from)
	if err != nil {
		return err
	}
	b, toLabel, err := s.graphDiffSide(ctx, g, to)
	if err != nil {
		return err
	}
	p := diffProps(designer.Diff(a, b), a, b)
	p.Header = templates.GraphHeaderProps{ID: g.ID, Name: g.Name, Current: "diff", LatestVersion: g.LatestVersion,
		CanEdit: viewer(c).HasRole(store.RoleAnalyst)}
	p.From, p.To, p.FromLabel, p.ToLabel = from, to, fromLabel, toLabel
	p.Drawing.Title = fmt.Sprintf("%s: changes from %s to %s", g.Name, fromLabel, toLabel)
	p.Choices = []templates.DiffChoice{{Value: diffDraft, Label: "Draft"}}
	for _, v := range versions {
		label := fmt.Sprintf("Version %d", v.Version)
		if v.Retired {
			label += " (retired)"
		}
		if v.Note != "" {
			label += " — " + templates.ClipText(v.Note, 40)
		}
		p.Choices = append(p.Choices, templates.DiffChoice{Value: strconv.Itoa(v.Version), Label: label})
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Compare " + g.Name, Section: "/graphs", Body: templates.GraphDiff(p)})
}

// defaultDiffSides fills in what the query leaves out: the latest version against the draft,
// or a version against the one before it.
func defaultDiffSides(versions []store.Version, from, to string) (string, string) {
	latest := ""
	if len(versions) > 0 {
		latest = strconv.Itoa(versions[0].Version)
	}
	if from == "" {
		switch n, err := strconv.Atoi(to); {
		case err == nil && n > 1:
			from = strconv.Itoa(n - 1)
		case latest != "" && to != latest:
			from = latest
		default:
			from = diffDraft
		}
	}
	if to == "" {
		to = diffDraft
	}
	return from, to
}

// diffProps lays out a diff for the page. The drawing is the `to` graph plus the nodes and
// edges only `from` has, at their old places, so that removals show where they were.
func diffProps(d designer.GraphDiff, from, to *designer.Graph) templates.GraphDiffProps {
	p := templates.GraphDiffProps{Same: d.Empty()}
	drawn := *to
	drawn.Nodes = append([]designer.Node(nil), to.Nodes...)
	drawn.Edges = append([]designer.Edge(nil), to.Edges...)
	nodeClass, nodeNote, edgeClass := map[string]string{}, map[string]string{}, map[int]string{}

	for _, id := range d.Nodes.Added {
		nodeClass[id], nodeNote[id] = "diff-added", "added"
		p.Added = append(p.Added, templates.DiffNodeRows{ID: id, Label: diffNodeLabel(to, id)})
	}
	for _, id := range d.Nodes.Removed {
		nodeClass[id], nodeNote[id] = "diff-removed", "removed"
		p.Removed = append(p.Removed, templates.DiffNodeRows{ID: id, Label: diffNodeLabel(from, id)})
		if n, ok := from.NodeByID(id); ok {
			drawn.Nodes = append(drawn.Nodes, clearOf(*n, drawn.Nodes))
		}
	}
	for _, ch := range d.Nodes.Changed {
		rows := diffFieldRows(ch.Fields)
		names := make([]string, 0, len(rows))
		for _, r := range rows {
			names = append(names, r.Field)
		}
		nodeClass[ch.ID], nodeNote[ch.ID] = "diff-changed", "changed "+strings.Join(names, ", ")
		p.Changed = append(p.Changed, templates.DiffNodeRows{ID: ch.ID, Label: diffNodeLabel(to, ch.ID), Fields: rows})
	}
	p.GraphFields = diffFieldRows(d.Graph)

	// Mark the added edges among to's, counting repeats as the diff does.
	added := map[[4]string]int{}
	for _, e := range d.Edges.Added {
		added[diffEdgeKey(e)]++
		p.EdgesAdded = append(p.EdgesAdded, diffEdgeRow(e))
	}
	for i, e := range to.Edges {
		if k := diffEdgeKey(e); added[k] > 0 {
			added[k]--
			edgeClass[i] = "diff-added"
		}
	}
	for _, e := range d.Edges.Removed {
		edgeClass[len(drawn.Edges)] = "diff-removed"
		drawn.Edges = append(drawn.Edges, e)
		p.EdgesRemoved = append(p.EdgesRemoved, diffEdgeRow(e))
	}
	p.Drawing = templates.GraphSVGProps{Graph: &drawn, ID: "diff", NodeClass: nodeClass, NodeNote: nodeNote, EdgeClass: edgeClass}
	return p
}

// clearOf moves a removed node down from its old place until it covers no node drawn so far
// (a node added in its place often sits exactly there).
func clearOf(n designer.Node, drawn []designer.Node) designer.Node {
	if n.Position == nil {
		return n
	}
	pos := *n.Position
	const w, h, gap = templates.GraphNodeWidth, templates.GraphNodeHeight, 24.0
	overlaps := func() bool {
		for _, o := range drawn {
			if o.Position != nil && pos.X < o.Position.X+w && o.Position.X < pos.X+w &&
				pos.Y < o.Position.Y+h+gap && o.Position.Y < pos.Y+h+gap {
				return true
			}
		}
		return false
	}
	for range len(drawn) + 1 {
		if !overlaps() {
			break
		}
		pos.Y += h + gap
	}
	n.Position = &pos
	return n
}

func diffEdgeKey(e designer.Edge) [4]string { return [4]string{e.From, e.To, e.EdgePort(), e.When} }

func diffEdgeRow(e designer.Edge) templates.DiffEdgeRow {
	return templates.DiffEdgeRow{From: e.From, To: e.To, Port: e.EdgePort(), When: e.When}
}

func diffNodeLabel(g *designer.Graph, id string) string {
	if n, ok := g.NodeByID(id); ok && n.Label != "" {
		return n.Label
	}
	return id
}

func diffFieldRows(fields []designer.FieldChange) []templates.DiffFieldRow {
	rows := make([]templates.DiffFieldRow, 0, len(fields))
	for _, f := range fields {
		rows = append(rows, templates.DiffFieldRow{Field: f.Field, From: diffValue(f.From), To: diffValue(f.To)})
	}
	return rows
}

// diffValue shows a changed value: text as it is (prompts read better unquoted), anything
// else as indented JSON; "" for an absent value.
func diffValue(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		if t == "" {
			return `""`
		}
		return t
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
