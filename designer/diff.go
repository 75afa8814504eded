package designer

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// GraphDiff is what changed from one graph to another, as GET /graphs/{id}/diff answers
// it. Graph holds changes of the document's own fields (name, description, input, output,
// format); api.md leaves room for it.
type GraphDiff struct {
	Graph []FieldChange `json:"graph"`
	Nodes NodesDiff     `json:"nodes"`
	Edges EdgesDiff     `json:"edges"`
}

// NodesDiff lists node ids added and removed, and the nodes whose fields changed.
type NodesDiff struct {
	Added   []string     `json:"added"`
	Removed []string     `json:"removed"`
	Changed []NodeChange `json:"changed"`
}

// NodeChange is one node's changed fields.
type NodeChange struct {
	ID     string        `json:"id"`
	Fields []FieldChange `json:"fields"`
}

// FieldChange is one field's old and new value, as decoded JSON (nil when absent). Field
// is a dotted path: "label", "position", "config.prompt", "config.headers.Authorization",
// "retry.max_attempts". Objects in config are compared member by member; lists whole.
type FieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// EdgesDiff lists edges added and removed. An edge is its from, to, port and when, so an
// edge whose when changed is removed and added.
type EdgesDiff struct {
	Added   []Edge `json:"added"`
	Removed []Edge `json:"removed"`
}

// Empty reports whether nothing changed.
func (d GraphDiff) Empty() bool {
	return len(d.Graph) == 0 && len(d.Nodes.Added) == 0 && len(d.Nodes.Removed) == 0 &&
		len(d.Nodes.Changed) == 0 && len(d.Edges.Added) == 0 && len(d.Edges.Removed) == 0
}

// Diff compares two graphs. Lists follow document order: added nodes and edges and
// changed nodes as in `to`, removed ones as in `from`; fields in a fixed order.
func Diff(from, to *Graph) GraphDiff {
	if from == nil {
		from = &Graph{}
	}
	if to == nil {
		to = &Graph{}
	}
	d := GraphDiff{
		Graph: []FieldChange{},
		Nodes: NodesDiff{Added: []string{}, Removed: []string{}, Changed: []NodeChange{}},
		Edges: EdgesDiff{Added: []Edge{}, Removed: []Edge{}},
	}
	d.Graph = diffFields(graphFieldsOf(from), graphFieldsOf(to))

	fromIDs, toIDs := nodeIDs(from), nodeIDs(to)
	for i := range to.Nodes {
		n := &to.Nodes[i]
		if toIDs[n.ID] != i {
			continue // a repeated id: the first node with it stands for it
		}
		j, ok := fromIDs[n.ID]
		if !ok {
			d.Nodes.Added = append(d.Nodes.Added, n.ID)
			continue
		}
		if fields := diffFields(nodeFieldsOf(&from.Nodes[j]), nodeFieldsOf(n)); len(fields) > 0 {
			d.Nodes.Changed = append(d.Nodes.Changed, NodeChange{ID: n.ID, Fields: fields})
		}
	}
	for i := range from.Nodes {
		n := &from.Nodes[i]
		if _, ok := toIDs[n.ID]; !ok && fromIDs[n.ID] == i {
			d.Nodes.Removed = append(d.Nodes.Removed, n.ID)
		}
	}
	d.Edges.Added = edgesMissing(to.Edges, from.Edges)
	d.Edges.Removed = edgesMissing(from.Edges, to.Edges)
	return d
}

type edgeKey struct{ from, to, port, when string }

func keyOf(e Edge) edgeKey { return edgeKey{e.From, e.To, e.EdgePort(), e.When} }

// edgesMissing lists the edges of a that b lacks, counting repeats.
func edgesMissing(a, b []Edge) []Edge {
	count := make(map[edgeKey]int, len(b))
	for _, e := range b {
		count[keyOf(e)]++
	}
	out := []Edge{}
	for _, e := range a {
		k := keyOf(e)
		if count[k] > 0 {
			count[k]--
			continue
		}
		out = append(out, e)
	}
	return out
}

// flatField is one comparable field: its place in the fixed order, its path and value.
type flatField struct {
	rank int
	path string
	val  *jval
}

func strField(rank int, path, s string) []flatField {
	if s == "" {
		return nil
	}
	return []flatField{{rank, path, &jval{kind: jString, str: s, raw: appendJSONString(nil, s)}}}
}

func rawField(rank int, path string, raw json.RawMessage, flatten bool) []flatField {
	if len(raw) == 0 {
		return nil
	}
	v, err := parseJSON(raw)
	if err != nil {
		// Not JSON: compare the text itself.
		s := string(raw)
		return []flatField{{rank, path, &jval{kind: jString, str: s, raw: appendJSONString(nil, s)}}}
	}
	if v.kind == jNull {
		return nil
	}
	if !flatten {
		return []flatField{{rank, path, &v}}
	}
	var out []flatField
	flattenInto(&out, rank, path, &v)
	return out
}

// flattenInto splits objects into their members; lists, scalars and empty objects stay
// whole.
func flattenInto(out *[]flatField, rank int, path string, v *jval) {
	if v.kind != jObject || len(v.kids) == 0 {
		*out = append(*out, flatField{rank, path, v})
		return
	}
	for i := range v.kids {
		if v.get(v.kids[i].key) != &v.kids[i].val {
			continue // a repeated key: the last one counts, as everywhere
		}
		flattenInto(out, rank, path+"."+v.kids[i].key, &v.kids[i].val)
	}
}

func graphFieldsOf(g *Graph) []flatField {
	var f []flatField
	f = append(f, strField(0, "format", g.Format)...)
	f = append(f, strField(1, "name", g.Name)...)
	f = append(f, strField(2, "description", g.Description)...)
	f = append(f, rawField(3, "input", g.Input, false)...)
	f = append(f, strField(4, "output", g.Output)...)
	return f
}

func nodeFieldsOf(n *Node) []flatField {
	var f []flatField
	f = append(f, strField(0, "kind", n.Kind)...)
	f = append(f, strField(1, "label", n.Label)...)
	if p := n.Position; p != nil {
		raw := appendFloat(append(appendFloat([]byte(`{"x":`), p.X), `,"y":`...), p.Y)
		f = append(f, rawField(2, "position", append(raw, '}'), false)...)
	}
	f = append(f, rawField(3, "config", n.Config, true)...)
	if r := n.Retry; r != nil {
		if r.MaxAttempts != 0 {
			f = append(f, rawField(4, "retry.max_attempts", strconv.AppendInt(nil, int64(r.MaxAttempts), 10), false)...)
		}
		f = append(f, strField(5, "retry.initial_interval", r.InitialInterval)...)
		if r.Backoff != 0 {
			f = append(f, rawField(6, "retry.backoff", appendFloat(nil, r.Backoff), false)...)
		}
		f = append(f, strField(7, "retry.max_interval", r.MaxInterval)...)
	}
	f = append(f, strField(8, "timeout", n.Timeout)...)
	f = append(f, strField(9, "join", n.Join)...)
	f = append(f, strField(10, "on_error", n.OnError)...)
	return f
}

// diffFields compares two flattened field lists; within a rank, paths sort by name.
func diffFields(a, b []flatField) []FieldChange {
	type pair struct {
		rank     int
		from, to *jval
	}
	byPath := map[string]*pair{}
	var paths []string
	for _, side := range []struct {
		fields []flatField
		isTo   bool
	}{{a, false}, {b, true}} {
		for _, f := range side.fields {
			p, ok := byPath[f.path]
			if !ok {
				p = &pair{rank: f.rank}
				byPath[f.path] = p
				paths = append(paths, f.path)
			}
			if side.isTo {
				p.to = f.val
			} else {
				p.from = f.val
			}
		}
	}
	sort.Slice(paths, func(i, j int) bool {
		pi, pj := byPath[paths[i]], byPath[paths[j]]
		if pi.rank != pj.rank {
			return pi.rank < pj.rank
		}
		return paths[i] < paths[j]
	})
	out := []FieldChange{}
	for _, path := range paths {
		p := byPath[path]
		if p.from != nil && p.to != nil && bytes.Equal(canonicalJSON(p.from), canonicalJSON(p.to)) {
			continue
		}
		c := FieldChange{Field: path}
		if p.from != nil {
			c.From = p.from.toAny()
		}
		if p.to != nil {
			c.To = p.to.toAny()
		}
		out = append(out, c)
	}
	return out
}
