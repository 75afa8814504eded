// Package designer holds the graph model of Trellis: the document format, validation,
// canonical form, hashing and diffs. It does no I/O.
package designer

import "encoding/json"

// Format is the only graph format this version understands.
const Format = "trellis.graph/v1"

// Graph is one graph document (graph-format.md).
type Graph struct {
	Format      string          `json:"format"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Input       json.RawMessage `json:"input,omitempty"`
	Nodes       []Node          `json:"nodes"`
	Edges       []Edge          `json:"edges"`
	Output      string          `json:"output,omitempty"`
	// OnError is the default on_error of every node that sets none.
	OnError string `json:"on_error,omitempty"`
}

// Node is one step of a graph. Config is decoded per kind (see kinds.go).
type Node struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Label    string          `json:"label,omitempty"`
	Position *Position       `json:"position,omitempty"`
	Config   json.RawMessage `json:"config,omitempty"`
	Retry    *Retry          `json:"retry,omitempty"`
	Timeout  string          `json:"timeout,omitempty"`
	Join     string          `json:"join,omitempty"`
	OnError  string          `json:"on_error,omitempty"`
}

// Position is where the editor draws a node; it never affects execution.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Retry is a node's retry policy; zero fields take the defaults.
type Retry struct {
	MaxAttempts     int     `json:"max_attempts,omitempty"`
	InitialInterval string  `json:"initial_interval,omitempty"`
	Backoff         float64 `json:"backoff,omitempty"`
	MaxInterval     string  `json:"max_interval,omitempty"`
}

// Edge connects the port of one node to another node.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Port string `json:"port,omitempty"`
	When string `json:"when,omitempty"`
}

// Node kinds.
const (
	KindLLM       = "llm"
	KindHTTP      = "http"
	KindTransform = "transform"
	KindApproval  = "approval"
	KindWait      = "wait"
	KindSubgraph  = "subgraph"
	KindMap       = "map"
	KindLoop      = "loop"
)

// Join modes and error policies.
const (
	JoinAll         = "all"
	JoinAny         = "any"
	OnErrorFail     = "fail"
	OnErrorContinue = "continue"
	// OnErrorHold parks a node whose retries are spent as an incident for an operator.
	OnErrorHold = "hold"
	PortOut     = "out"
	PortError   = "error"
	// PortExhausted is the port a loop completes on when it reached max_iterations.
	PortExhausted = "exhausted"
)

// Problem is one thing wrong with a graph. It names the node or edge (by index) and the
// field; Column is 1-based within that field's text for expression errors.
type Problem struct {
	Node    string `json:"node,omitempty"`
	Edge    *int   `json:"edge,omitempty"`
	Field   string `json:"field,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// EdgePort is the port an edge follows, defaulting to "out".
func (e Edge) EdgePort() string {
	if e.Port == "" {
		return PortOut
	}
	return e.Port
}

// JoinMode is the node's join, defaulting to "all".
func (n Node) JoinMode() string {
	if n.Join == "" {
		return JoinAll
	}
	return n.Join
}

// ErrorPolicy is the node's on_error, defaulting to "fail".
func (n Node) ErrorPolicy() string {
	if n.OnError == "" {
		return OnErrorFail
	}
	return n.OnError
}

// ErrorPolicyOf is the on_error a node runs with: its own, else the graph's default, else
// "fail". A graph default of "continue" applies only to kinds with an error port.
func (g *Graph) ErrorPolicyOf(n *Node) string {
	if n.OnError != "" {
		return n.OnError
	}
	switch g.OnError {
	case "":
		return OnErrorFail
	case OnErrorContinue:
		if k, ok := KindByName(n.Kind); !ok || !contains(k.Ports, PortError) {
			return OnErrorFail
		}
	}
	return g.OnError
}

// NodeByID returns the node with that id.
func (g *Graph) NodeByID(id string) (*Node, bool) {
	for i := range g.Nodes {
		if g.Nodes[i].ID == id {
			return &g.Nodes[i], true
		}
	}
	return nil, false
}

// Kind configs, decoded from Node.Config.

// LLMConfig configures an llm node.
type LLMConfig struct {
	Provider    string          `json:"provider,omitempty"`
	Model       string          `json:"model,omitempty"`
	System      string          `json:"system,omitempty"`
	Prompt      string          `json:"prompt"`
	Temperature *float64        `json:"temperature,omitempty"`
	MaxTokens   int             `json:"max_tokens,omitempty"`
	JSONSchema  json.RawMessage `json:"json_schema,omitempty"`
}

// HTTPConfig configures an http node. Expect holds status codes (numbers) or ranges
// like "2xx" (strings).
type HTTPConfig struct {
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Query   map[string]string `json:"query,omitempty"` // added to the url's query, encoded
	Body    json.RawMessage   `json:"body,omitempty"`
	Expect  []any             `json:"expect,omitempty"`
}

// TransformConfig configures a transform node: Value is a JSON string holding an
// expression, or any other JSON value whose strings are templates.
type TransformConfig struct {
	Value json.RawMessage `json:"value"`
}

// ApprovalConfig configures an approval (human) node.
type ApprovalConfig struct {
	Title        string          `json:"title"`
	Instructions string          `json:"instructions,omitempty"`
	Assignee     string          `json:"assignee"`
	Form         json.RawMessage `json:"form,omitempty"`
	Outcomes     []string        `json:"outcomes,omitempty"`
	Due          string          `json:"due,omitempty"`
	OnDue        *OnDue          `json:"on_due,omitempty"`
}

// OnDue says what happens when an approval is overdue: decide or escalate.
type OnDue struct {
	Outcome    string `json:"outcome,omitempty"`
	EscalateTo string `json:"escalate_to,omitempty"`
}

// DefaultOutcomes are an approval's outcomes when it names none.
var DefaultOutcomes = []string{"approve", "reject"}

// OutcomeList is the approval's outcomes with the default applied.
func (c ApprovalConfig) OutcomeList() []string {
	if len(c.Outcomes) == 0 {
		return DefaultOutcomes
	}
	return c.Outcomes
}

// WaitConfig configures a wait node: a Go duration or an expression giving an RFC 3339 time.
type WaitConfig struct {
	Duration string `json:"duration,omitempty"`
	Until    string `json:"until,omitempty"`
}

// SubgraphConfig configures a subgraph node. Version is a number or "latest"; publishing
// the parent resolves "latest" to a number.
type SubgraphConfig struct {
	Graph   string          `json:"graph"`
	Version json.RawMessage `json:"version,omitempty"`
	Input   string          `json:"input,omitempty"`
}
