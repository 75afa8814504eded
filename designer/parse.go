package designer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes int // size of the document; default 2 MiB
	MaxNodes int // number of nodes; default 2,000
}

// DefaultLimits are the limits of api.md.
var DefaultLimits = Limits{MaxBytes: 2 << 20, MaxNodes: 2000}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultLimits.MaxNodes
	}
	return l
}

// ErrTooLarge matches (errors.Is) Parse's error for a document over Limits.MaxBytes, so
// that callers can answer 413.
var ErrTooLarge = errors.New("the graph document is too large")

type tooLargeError struct{ size, limit int }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the graph document is %s; the limit is %s", byteSize(e.size), byteSize(e.limit))
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Parse reads a graph document strictly. The error is only for input that cannot be read
// as a graph at all: over the size limit (wrapping ErrTooLarge), not JSON, or not an
// object. Everything else is a Problem, and the Graph holds as much of the draft as could
// be read, so that nothing the user wrote is lost.
//
// Parse problems name the place in the document in Field ("nodes[2].colour",
// "edges[0].weight", "colour"), and also set Node (when the node's id could be read) or
// Edge. Parse also reports a wrong format and too many nodes; Validate checks the rest.
func Parse(data []byte, lim Limits) (*Graph, []Problem, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, nil, &tooLargeError{size: len(data), limit: lim.MaxBytes}
	}
	// The graph keeps slices of the document (config, input); copy it so that the caller
	// may reuse its buffer.
	buf := append([]byte(nil), data...)
	// Node configs stay lazy here: Validate reads them.
	root, err := parseShallow(buf, 3)
	if err != nil {
		return nil, nil, fmt.Errorf("the graph document is not valid JSON: %w", err)
	}
	if root.kind != jObject {
		return nil, nil, fmt.Errorf("the graph document must be a JSON object, not %s", root.kind)
	}
	p := &docParser{g: &Graph{}}
	p.graph(&root)
	g := p.g
	// Problems of the whole document come first.
	var first []Problem
	if pr, bad := formatProblem(g.Format); bad {
		first = append(first, pr)
	}
	if len(g.Nodes) > lim.MaxNodes {
		first = append(first, Problem{Field: "nodes", Message: fmt.Sprintf("the graph has %d nodes; the limit is %d", len(g.Nodes), lim.MaxNodes)})
	}
	if len(first) == 0 {
		return g, p.probs, nil
	}
	return g, append(first, p.probs...), nil
}

// ParseAndValidate parses and then validates, leaving out validation problems that Parse
// already reported (such as the format).
func ParseAndValidate(data []byte, lim Limits, env ValidateEnv) (*Graph, []Problem, error) {
	g, probs, err := Parse(data, lim)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool, len(probs))
	for _, p := range probs {
		seen[problemKey(p)] = true
	}
	for _, p := range Validate(g, env) {
		if !seen[problemKey(p)] {
			probs = append(probs, p)
		}
	}
	return g, probs, nil
}

func problemKey(p Problem) string {
	e := -1
	if p.Edge != nil {
		e = *p.Edge
	}
	return fmt.Sprintf("%q %d %q %d %q", p.Node, e, p.Field, p.Column, p.Message)
}

// formatProblem is the problem with a format, shared by Parse and Validate.
func formatProblem(format string) (Problem, bool) {
	switch format {
	case Format:
		return Problem{}, false
	case "":
		return Problem{Field: "format", Message: "missing format; expected " + Format}, true
	}
	return Problem{Field: "format", Message: fmt.Sprintf("unknown format %q; expected %s", format, Format)}, true
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return strings.TrimSuffix(strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64), ".0") + " MiB"
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

type docParser struct {
	g     *Graph
	probs []Problem
}

func (p *docParser) add(pr Problem) { p.probs = append(p.probs, pr) }

var (
	graphFields    = []string{"format", "name", "description", "input", "nodes", "edges", "output", "on_error"}
	nodeFields     = []string{"id", "kind", "label", "position", "config", "retry", "timeout", "join", "on_error"}
	edgeFields     = []string{"from", "to", "port", "when"}
	retryFields    = []string{"max_attempts", "initial_interval", "backoff", "max_interval"}
	positionFields = []string{"x", "y"}
)

// docPath names a place in the document; the text is built only for a problem.
type docPath struct {
	list  string // "nodes" or "edges", or "" at the top
	index int
	sub   string // "position" or "retry", or ""
}

func (d docPath) field(key string) string {
	var b strings.Builder
	if d.list != "" {
		b.WriteString(d.list)
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(d.index))
		b.WriteByte(']')
	}
	for _, part := range []string{d.sub, key} {
		if part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

// known reports whether member i of v is a known field, reporting unknown and repeated
// keys.
func (p *docParser) known(v *jval, i int, fields []string, at docPath, site Problem) bool {
	key := v.kids[i].key
	if !contains(fields, key) {
		site.Field = at.field(key)
		site.Message = fmt.Sprintf("unknown field %q; expected one of %s", key, strings.Join(fields, ", "))
		p.add(site)
		return false
	}
	for j := 0; j < i; j++ {
		if v.kids[j].key == key {
			site.Field = at.field(key)
			site.Message = fmt.Sprintf("field %q appears more than once; the last one is kept", key)
			p.add(site)
			break
		}
	}
	return true
}

func (p *docParser) graph(root *jval) {
	g := p.g
	var site Problem
	var at docPath
	for i := range root.kids {
		if !p.known(root, i, graphFields, at, site) {
			continue
		}
		key, v := root.kids[i].key, &root.kids[i].val
		switch key {
		case "format":
			g.Format = p.str(v, at, key, site)
		case "name":
			g.Name = p.str(v, at, key, site)
		case "description":
			g.Description = p.str(v, at, key, site)
		case "output":
			g.Output = p.str(v, at, key, site)
		case "on_error":
			g.OnError = p.str(v, at, key, site)
		case "input":
			g.Input = rawOrNil(v)
		case "nodes":
			g.Nodes = nil
			if p.kindIs(v, jArray, at, key, site) {
				g.Nodes = make([]Node, 0, len(v.kids))
				for j := range v.kids {
					if n, ok := p.node(&v.kids[j].val, docPath{list: "nodes", index: j}); ok {
						g.Nodes = append(g.Nodes, n)
					}
				}
			}
		case "edges":
			g.Edges = nil
			if p.kindIs(v, jArray, at, key, site) {
				g.Edges = make([]Edge, 0, len(v.kids))
				for j := range v.kids {
					if e, ok := p.edge(&v.kids[j].val, docPath{list: "edges", index: j}, len(g.Edges)); ok {
						g.Edges = append(g.Edges, e)
					}
				}
			}
		}
	}
}

func rawOrNil(v *jval) json.RawMessage {
	if v.kind == jNull {
		return nil
	}
	return json.RawMessage(v.raw)
}

// kindIs reports whether v has kind k; null counts as absent, without a problem.
func (p *docParser) kindIs(v *jval, k jkind, at docPath, key string, site Problem) bool {
	if v.kind == k {
		return true
	}
	if v.kind != jNull {
		site.Field = at.field(key)
		site.Message = fmt.Sprintf("%s must be %s, not %s", key, k, v.kind)
		p.add(site)
	}
	return false
}

func (p *docParser) str(v *jval, at docPath, key string, site Problem) string {
	if p.kindIs(v, jString, at, key, site) {
		return v.str
	}
	return ""
}

func (p *docParser) num(v *jval, at docPath, key string, site Problem) float64 {
	if !p.kindIs(v, jNumber, at, key, site) {
		return 0
	}
	f, ok := v.float()
	if !ok {
		site.Field = at.field(key)
		site.Message = fmt.Sprintf("%s is out of range", key)
		p.add(site)
		return 0
	}
	return f
}

func (p *docParser) notObject(v *jval, at docPath) {
	path := at.field("")
	p.add(Problem{Field: path, Message: fmt.Sprintf("%s must be an object, not %s; it was left out", path, v.kind)})
}

func (p *docParser) node(v *jval, at docPath) (Node, bool) {
	var n Node
	if v.kind != jObject {
		p.notObject(v, at)
		return n, false
	}
	var site Problem
	if id := v.get("id"); id != nil && id.kind == jString && id.str != "" {
		site.Node = id.str
	}
	for i := range v.kids {
		if !p.known(v, i, nodeFields, at, site) {
			continue
		}
		key, v := v.kids[i].key, &v.kids[i].val
		switch key {
		case "id":
			n.ID = p.str(v, at, key, site)
		case "kind":
			n.Kind = p.str(v, at, key, site)
		case "label":
			n.Label = p.str(v, at, key, site)
		case "timeout":
			n.Timeout = p.str(v, at, key, site)
		case "join":
			n.Join = p.str(v, at, key, site)
		case "on_error":
			n.OnError = p.str(v, at, key, site)
		case "config":
			n.Config = rawOrNil(v)
		case "position":
			if p.kindIs(v, jObject, at, key, site) {
				obj := v.expand()
				n.Position = p.position(&obj, docPath{list: at.list, index: at.index, sub: key}, site)
			}
		case "retry":
			if p.kindIs(v, jObject, at, key, site) {
				obj := v.expand()
				n.Retry = p.retry(&obj, docPath{list: at.list, index: at.index, sub: key}, site)
			}
		}
	}
	return n, true
}

func (p *docParser) position(v *jval, at docPath, site Problem) *Position {
	pos := &Position{}
	for i := range v.kids {
		if !p.known(v, i, positionFields, at, site) {
			continue
		}
		key, v := v.kids[i].key, &v.kids[i].val
		if key == "x" {
			pos.X = p.num(v, at, key, site)
		} else {
			pos.Y = p.num(v, at, key, site)
		}
	}
	return pos
}

func (p *docParser) retry(v *jval, at docPath, site Problem) *Retry {
	r := &Retry{}
	for i := range v.kids {
		if !p.known(v, i, retryFields, at, site) {
			continue
		}
		key, v := v.kids[i].key, &v.kids[i].val
		switch key {
		case "max_attempts":
			f := p.num(v, at, key, site)
			if f != math.Trunc(f) || math.Abs(f) > 1e9 {
				pr := site
				pr.Field, pr.Message = at.field(key), "max_attempts must be a whole number"
				p.add(pr)
				continue
			}
			r.MaxAttempts = int(f)
		case "initial_interval":
			r.InitialInterval = p.str(v, at, key, site)
		case "backoff":
			r.Backoff = p.num(v, at, key, site)
		case "max_interval":
			r.MaxInterval = p.str(v, at, key, site)
		}
	}
	return r
}

func (p *docParser) edge(v *jval, at docPath, index int) (Edge, bool) {
	var e Edge
	if v.kind != jObject {
		p.notObject(v, at)
		return e, false
	}
	site := Problem{Edge: &index}
	for i := range v.kids {
		if !p.known(v, i, edgeFields, at, site) {
			continue
		}
		key, v := v.kids[i].key, &v.kids[i].val
		switch key {
		case "from":
			e.From = p.str(v, at, key, site)
		case "to":
			e.To = p.str(v, at, key, site)
		case "port":
			e.Port = p.str(v, at, key, site)
		case "when":
			e.When = p.str(v, at, key, site)
		}
	}
	return e, true
}
