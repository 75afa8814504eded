package designer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Names a map body's expressions may read besides input, nodes and run, and the names a
// loop's until may read.
const (
	RootItem      = "item"
	RootIndex     = "index"
	RootState     = "state"
	RootIteration = "iteration"
)

// Limits and defaults of the repeating kinds (graph-format.md, Repeating work).
const (
	DefaultConcurrency  = 10
	MaxConcurrency      = 100
	MaxLoopIterations   = 1000
	OnItemErrorFail     = "fail"
	OnItemErrorContinue = "continue"
)

// InlineBodyKinds are the kinds a map's inline node may have; anything more is a graph body.
var InlineBodyKinds = []string{KindLLM, KindHTTP, KindTransform, KindApproval}

var (
	mapBodyReads   = []string{RootItem, RootIndex}
	loopUntilReads = []string{RootState, RootIteration}
)

var mapKind = KindSpec{
	Name: KindMap, Label: "For each item", Icon: "⟳", Color: "#14b8a6",
	Description: "Runs the same step, or another graph, once for each item of a list, several at a time.",
	Ports:       []string{PortOut, PortError},
	Fields: []FieldSpec{
		{Name: "items", Label: "Items", Type: FieldExpression, Required: true,
			Help: "An expression giving the list to go through, such as input.documents."},
		{Name: "node", Label: "Step for each item", Type: FieldInlineNode,
			Help: `One step run for each item: {"kind": "llm", "config": {...}} of kind llm, http, transform or approval. Its texts may read item and index. Give this or Graph.`},
		{Name: "graph", Label: "Graph for each item", Type: FieldString,
			Help: "Instead of one step: the id of a published graph to run for each item."},
		{Name: "version", Label: "Version", Type: FieldVersion, Default: "latest",
			Help: `The graph's version number, or "latest" for the newest version when this graph is published.`},
		{Name: "input", Label: "Input of each run", Type: FieldExpression, Reads: mapBodyReads,
			Help: "An expression giving each run's input from item and index; the item itself when left empty."},
		{Name: "concurrency", Label: "At most at once", Type: FieldInteger, Default: DefaultConcurrency, Min: 1, Max: MaxConcurrency,
			Help: "How many items are worked on at the same time, from 1 to 100."},
		{Name: "on_item_error", Label: "When an item fails", Type: FieldEnum, Default: OnItemErrorFail,
			Options: []string{OnItemErrorFail, OnItemErrorContinue},
			Help:    "fail stops the other items and fails this step. continue notes the error and goes on with the rest."},
	},
}

var loopKind = KindSpec{
	Name: KindLoop, Label: "Repeat until", Icon: "↻", Color: "#0d9488",
	Description: "Runs another graph again and again, each round's result becoming the next round's state, until a condition holds.",
	Ports:       []string{PortOut, PortExhausted, PortError},
	Fields: []FieldSpec{
		{Name: "graph", Label: "Graph of one round", Type: FieldString, Required: true,
			Help: "The id of the published graph run in each round; its input is {state, iteration}."},
		{Name: "version", Label: "Version", Type: FieldVersion, Default: "latest",
			Help: `The graph's version number, or "latest" for the newest version when this graph is published.`},
		{Name: "init", Label: "First state", Type: FieldExpression,
			Help: "An expression giving the state of the first round, such as { request: input.request }; null when left empty."},
		{Name: "until", Label: "Stop when", Type: FieldExpression, Reads: loopUntilReads,
			Help: "Checked after each round with state (that round's result) and iteration: the loop ends when it is true, such as state.approved."},
		{Name: "max_iterations", Label: "At most rounds", Type: FieldInteger, Required: true, Min: 1, Max: MaxLoopIterations,
			Help: "The most rounds to run, from 1 to 1000; reaching it leaves by the exhausted exit."},
	},
}

// MapConfig configures a map node: Items gives the list; the body is Node (inline) or
// Graph with Version and Input (a child run per item).
type MapConfig struct {
	Items       string          `json:"items"`
	Node        *InlineNode     `json:"node,omitempty"`
	Graph       string          `json:"graph,omitempty"`
	Version     json.RawMessage `json:"version,omitempty"`
	Input       string          `json:"input,omitempty"`
	Concurrency int             `json:"concurrency,omitempty"`
	OnItemError string          `json:"on_item_error,omitempty"`
}

// InlineNode is a map's one-node body.
type InlineNode struct {
	Kind    string          `json:"kind"`
	Config  json.RawMessage `json:"config,omitempty"`
	Retry   *Retry          `json:"retry,omitempty"`
	Timeout string          `json:"timeout,omitempty"`
}

// AsNode is the inline body as a node of the map's id, as the engine runs it per item.
func (b InlineNode) AsNode(id string) Node {
	return Node{ID: id, Kind: b.Kind, Config: b.Config, Retry: b.Retry, Timeout: b.Timeout}
}

// Limit is the concurrency with the default applied.
func (c MapConfig) Limit() int {
	if c.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return c.Concurrency
}

// ContinueOnItemError reports whether a failed item is noted rather than failing the node.
func (c MapConfig) ContinueOnItemError() bool { return c.OnItemError == OnItemErrorContinue }

// LoopConfig configures a loop node.
type LoopConfig struct {
	Graph         string          `json:"graph"`
	Version       json.RawMessage `json:"version,omitempty"`
	Init          string          `json:"init,omitempty"`
	Until         string          `json:"until,omitempty"`
	MaxIterations int             `json:"max_iterations"`
}

// refersToGraph reports whether a kind may name another graph in config.graph.
func refersToGraph(kind string) bool {
	return kind == KindSubgraph || kind == KindMap || kind == KindLoop
}

// readsOnlyIn says where a name that only some expressions may read can be used.
func readsOnlyIn(name string) string {
	switch name {
	case RootItem, RootIndex:
		return fmt.Sprintf("%s can be used only in a map node's body (its node's texts and its input)", name)
	case RootState, RootIteration:
		return fmt.Sprintf("%s can be used only in a loop node's until", name)
	}
	return ""
}

// set reports whether a config member is present and not null or "".
func set(v *jval) bool {
	return v != nil && v.kind != jNull && !(v.kind == jString && v.str == "")
}

// bounds checks an integer field against the catalogue's Min and Max.
func (c *configCheck) bounds() {
	for i := range c.spec.Fields {
		f := &c.spec.Fields[i]
		if f.Max == 0 {
			continue
		}
		val := c.cfg.get(f.Name)
		if val == nil {
			continue
		}
		if n, ok := jsonInt(val); ok && (n < int64(f.Min) || n > int64(f.Max)) {
			c.add("config."+f.Name, fmt.Sprintf("%s must be from %d to %d, not %d", f.Name, f.Min, f.Max, n))
		}
	}
}

func (c *configCheck) mapBody() {
	node, graph := c.cfg.get("node"), c.cfg.get("graph")
	switch {
	case set(node) && set(graph):
		c.add("config.node", "a map's body is either node (one step) or graph, not both")
	case !set(node) && !set(graph):
		c.add("config.node", "a map needs a body: node (one step for each item) or graph (a graph run for each item)")
	}
	if !set(graph) {
		for _, name := range []string{"version", "input"} {
			if set(c.cfg.get(name)) {
				c.add("config."+name, name+" applies only to a graph body; leave it out with node")
			}
		}
	}
	if node != nil && node.kind == jObject {
		c.v.inlineNode(c.s, c.n, node)
	}
}

// inlineNode checks a map's one-node body as a node of its own kind whose texts may read
// item and index; its problems name the map node and fields under config.node.
func (v *validator) inlineNode(s site, mapNode *Node, body *jval) {
	s.prefix = "config.node."
	var b InlineNode
	for _, m := range body.kids {
		switch m.key {
		case "kind", "config", "retry", "timeout":
		default:
			v.add(s, m.key, 0, fmt.Sprintf("unknown field %q for a map's node; expected one of kind, config, retry, timeout", m.key))
		}
	}
	if err := json.Unmarshal(body.raw, &b); err != nil {
		v.add(s, "", 0, "node must be {kind, config, retry, timeout}: "+err.Error())
		return
	}
	spec, ok := KindByName(b.Kind)
	switch {
	case b.Kind == "":
		v.add(s, "kind", 0, "the map's node has no kind; expected one of "+strings.Join(InlineBodyKinds, ", "))
		return
	case !ok || !contains(InlineBodyKinds, b.Kind):
		v.add(s, "kind", 0, fmt.Sprintf("a map's node may be %s, not %q; for more, run a graph for each item",
			strings.Join(InlineBodyKinds, ", "), b.Kind))
		return
	}
	n := b.AsNode(mapNode.ID)
	v.configIn(s, &n, &kinds[kindIndex[b.Kind]], mapBodyReads)
	v.common(s, &n, &spec)
}
