package designer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// FieldType says what kind of value a config field holds; the validator checks values by
// it and the editor picks a form control by it.
type FieldType string

// Field types.
const (
	FieldString     FieldType = "string"      // plain text
	FieldTemplate   FieldType = "template"    // text with {{ expression }} parts
	FieldExpression FieldType = "expression"  // one expression
	FieldNumber     FieldType = "number"      // any number
	FieldInteger    FieldType = "integer"     // a whole number
	FieldBoolean    FieldType = "boolean"     // true or false
	FieldEnum       FieldType = "enum"        // one of Options
	FieldDuration   FieldType = "duration"    // Go duration such as "30s" or "72h"
	FieldJSON       FieldType = "json"        // any JSON value
	FieldSchema     FieldType = "schema"      // a JSON Schema (the subset in schema.go)
	FieldStringMap  FieldType = "string_map"  // an object of templates
	FieldStringList FieldType = "string_list" // a list of strings
	FieldStatusList FieldType = "status_list" // HTTP status codes (200) or ranges ("2xx")
	FieldVersion    FieldType = "version"     // a version number or "latest"
	FieldInlineNode FieldType = "inline_node" // one node of a map's body: {kind, config, retry?, timeout?}
)

// FieldSpec describes one config field of a kind (or one common node field). A dotted Name
// ("on_due.outcome") is a member of an object field.
type FieldSpec struct {
	Name     string
	Label    string
	Help     string
	Type     FieldType
	Required bool
	Default  any
	Options  []string
	// Secrets is true where secrets.NAME may be used (http url, query, headers and body only).
	Secrets bool
	// Reads are the names an expression field may read besides input, nodes and run, such
	// as item and index in a map's input.
	Reads []string
	// Min and Max bound an integer field when Max is set.
	Min, Max int
}

// KindSpec describes a node kind: how the palette shows it, its ports and its config.
type KindSpec struct {
	Name        string
	Label       string
	Description string
	Icon        string
	Color       string
	// Ports are the kind's fixed ports; nil for approval, whose ports are its outcomes.
	Ports  []string
	Fields []FieldSpec
	// DoesWork is true for kinds that call out of the engine (llm, http): only they take
	// retry and timeout.
	DoesWork bool
}

// HTTPMethods are the methods an http node may use.
var HTTPMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

var kinds = []KindSpec{
	{
		Name: KindTransform, Label: "Transform", Icon: "ƒ", Color: "#6366f1",
		Description: "Builds a value from the run's input and earlier steps, without calling anything.",
		Ports:       []string{PortOut, PortError},
		Fields: []FieldSpec{
			{Name: "value", Label: "Value", Type: FieldJSON, Required: true,
				Help: `What this step produces. As an Expression it is computed when the step runs, such as { total: input.amount * 2 }. As Fixed JSON it is a value such as {"total": "{{ input.amount }}"}, whose texts may contain {{ expression }} parts.`},
		},
	},
	{
		Name: KindHTTP, Label: "HTTP request", Icon: "🌐", Color: "#0ea5e9", DoesWork: true,
		Description: "Calls a web service and hands on its status, headers and body.",
		Ports:       []string{PortOut, PortError},
		Fields: []FieldSpec{
			{Name: "method", Label: "Method", Type: FieldEnum, Default: "GET", Options: HTTPMethods,
				Help: "GET reads, POST creates, PUT and PATCH change, DELETE removes."},
			{Name: "url", Label: "URL", Type: FieldTemplate, Required: true, Secrets: true,
				Help: "The address to call, starting with https://. It may contain {{ expression }} parts, such as {{ input.customer_id }}; their values are encoded to fit where they stand, except one at the very start, which may be a base URL."},
			{Name: "query", Label: "Query parameters", Type: FieldStringMap, Secrets: true,
				Help: "Parameters added to the URL after ?, such as q: {{ input.search }}. Values are encoded for you, so spaces, & and = arrive as written."},
			{Name: "headers", Label: "Headers", Type: FieldStringMap, Secrets: true,
				Help: "Extra request headers, such as Authorization: Bearer {{ secrets.API_TOKEN }}. Secrets are filled in only when the request is sent."},
			{Name: "body", Label: "Body", Type: FieldJSON, Secrets: true,
				Help: "What to send: a text with {{ expression }} parts, or JSON whose texts may contain them. JSON is sent as application/json."},
			{Name: "expect", Label: "Accepted statuses", Type: FieldStatusList, Default: []any{"2xx"},
				Help: `Response statuses that count as success, such as 200, 404 or "2xx". Any other status is an error.`},
		},
	},
	{
		Name: KindLLM, Label: "Ask an LLM", Icon: "✨", Color: "#a855f7", DoesWork: true,
		Description: "Sends a prompt to a language model and hands on its answer.",
		Ports:       []string{PortOut, PortError},
		Fields: []FieldSpec{
			{Name: "provider", Label: "Provider", Type: FieldString, Default: "default",
				Help: "Which configured model provider to use; leave it empty for the default one."},
			{Name: "model", Label: "Model", Type: FieldString,
				Help: "The model name, such as gpt-4o-mini; leave it empty for the provider's default."},
			{Name: "system", Label: "System instructions", Type: FieldTemplate,
				Help: "Standing instructions for the model: its role, tone and rules. May contain {{ expression }} parts."},
			{Name: "prompt", Label: "Prompt", Type: FieldTemplate, Required: true,
				Help: "The question or task. Use {{ expression }} to insert data, such as {{ input.message }}."},
			{Name: "temperature", Label: "Temperature", Type: FieldNumber,
				Help: "From 0 to 2: lower gives steadier answers, higher more varied ones."},
			{Name: "max_tokens", Label: "Maximum answer length", Type: FieldInteger,
				Help: "The longest answer allowed, in tokens (about ¾ of a word each)."},
			{Name: "json_schema", Label: "Answer format", Type: FieldSchema,
				Help: "Optional: the fields the answer must have. The model is asked for JSON and its answer is checked against this."},
		},
	},
	agentKind,
	{
		Name: KindApproval, Label: "Approval", Icon: "✋", Color: "#f59e0b",
		Description: "Asks a person or a group to decide; the run waits until they do.",
		Fields: []FieldSpec{
			{Name: "title", Label: "Title", Type: FieldTemplate, Required: true,
				Help: "What the reviewer sees in their inbox, such as Refund of {{ input.amount }} EUR."},
			{Name: "instructions", Label: "Instructions", Type: FieldTemplate,
				Help: "What the reviewer should check, in Markdown. May contain {{ expression }} parts."},
			{Name: "assignee", Label: "Assignee", Type: FieldTemplate, Required: true,
				Help: "Who decides: user:NAME for one person or group:NAME for anyone in a group."},
			{Name: "form", Label: "Form", Type: FieldSchema,
				Help: "Optional fields the reviewer fills in, such as an amount or a note."},
			{Name: "outcomes", Label: "Outcomes", Type: FieldStringList, Default: []any{"approve", "reject"},
				Help: "The decisions the reviewer can make. Each becomes an exit of this step to connect to what follows."},
			{Name: "due", Label: "Due after", Type: FieldDuration,
				Help: "How long the reviewer has, such as 24h or 72h. Leave it empty for no deadline."},
			{Name: "on_due.outcome", Label: "When overdue, decide", Type: FieldString,
				Help: "The outcome to take automatically when the deadline passes."},
			{Name: "on_due.escalate_to", Label: "When overdue, hand to", Type: FieldTemplate,
				Help: "Instead of deciding: reassign the task, such as group:managers, and wait again."},
		},
	},
	{
		Name: KindWait, Label: "Wait", Icon: "⏱", Color: "#64748b",
		Description: "Pauses the run for a while or until a moment in time.",
		Ports:       []string{PortOut},
		Fields: []FieldSpec{
			{Name: "duration", Label: "Wait for", Type: FieldDuration,
				Help: "How long to pause, such as 10m, 2h or 72h. Give this or Wait until, not both."},
			{Name: "until", Label: "Wait until", Type: FieldExpression,
				Help: "An expression giving the moment to resume, as an RFC 3339 time such as 2025-01-31T09:00:00Z."},
		},
	},
	{
		Name: KindSubgraph, Label: "Subgraph", Icon: "⧉", Color: "#10b981",
		Description: "Runs another published graph as one step and hands on its result.",
		Ports:       []string{PortOut, PortError},
		Fields: []FieldSpec{
			{Name: "graph", Label: "Graph", Type: FieldString, Required: true,
				Help: "The id of the graph to run."},
			{Name: "version", Label: "Version", Type: FieldVersion, Default: "latest",
				Help: `A version number, or "latest" for the newest version when this graph is published.`},
			{Name: "input", Label: "Input", Type: FieldExpression,
				Help: "An expression giving the other graph's input, such as { customer: input.customer }."},
		},
	},
	mapKind,
	loopKind,
}

// CommonFields are the fields every node has besides its config. retry and timeout apply
// only to kinds that do work (KindSpec.DoesWork).
var CommonFields = []FieldSpec{
	{Name: "label", Label: "Label", Type: FieldString,
		Help: "A short name shown on the canvas and in run timelines."},
	{Name: "retry.max_attempts", Label: "Attempts", Type: FieldInteger, Default: 3,
		Help: "How many times to try in all before giving up (1 means no retry)."},
	{Name: "retry.initial_interval", Label: "First retry after", Type: FieldDuration, Default: "1s",
		Help: "The pause before the first retry, such as 1s."},
	{Name: "retry.backoff", Label: "Backoff factor", Type: FieldNumber, Default: 2.0,
		Help: "Each pause is this many times longer than the one before (1 keeps it the same)."},
	{Name: "retry.max_interval", Label: "Longest pause", Type: FieldDuration, Default: "1m",
		Help: "The pause between retries never grows past this."},
	{Name: "timeout", Label: "Timeout", Type: FieldDuration, Default: "60s",
		Help: "How long one attempt may take before it counts as failed."},
	{Name: "join", Label: "Start when", Type: FieldEnum, Default: JoinAll, Options: []string{JoinAll, JoinAny},
		Help: "all: run only when every incoming path is taken. any: run when at least one is (use it where branches merge)."},
	{Name: "on_error", Label: "On error", Type: FieldEnum, Default: OnErrorFail, Options: []string{OnErrorFail, OnErrorContinue, OnErrorHold},
		Help: "fail stops the whole run. continue carries on along this step's error exit. hold parks the step for an operator to retry, skip or fail it."},
}

var kindIndex = func() map[string]int {
	m := make(map[string]int, len(kinds))
	for i, k := range kinds {
		m[k.Name] = i
	}
	return m
}()

// Kinds returns the catalogue in palette order: transform, http, llm, agent, approval, wait,
// subgraph, map, loop. The result is a copy; changing it changes nothing.
func Kinds() []KindSpec {
	out := make([]KindSpec, len(kinds))
	for i, k := range kinds {
		out[i] = cloneKind(k)
	}
	return out
}

// KindByName returns the spec of a kind.
func KindByName(name string) (KindSpec, bool) {
	i, ok := kindIndex[name]
	if !ok {
		return KindSpec{}, false
	}
	return cloneKind(kinds[i]), true
}

func cloneKind(k KindSpec) KindSpec {
	k.Ports = append([]string(nil), k.Ports...)
	k.Fields = append([]FieldSpec(nil), k.Fields...)
	for i := range k.Fields {
		k.Fields[i].Options = append([]string(nil), k.Fields[i].Options...)
		k.Fields[i].Reads = append([]string(nil), k.Fields[i].Reads...)
		if l, ok := k.Fields[i].Default.([]any); ok {
			k.Fields[i].Default = append([]any(nil), l...)
		}
	}
	return k
}

// NodePorts lists the ports a node can complete on: an approval's outcomes (default
// approve and reject), otherwise the kind's ports. An unknown kind has none.
func NodePorts(n Node) []string {
	i, ok := kindIndex[n.Kind]
	if !ok {
		return nil
	}
	if n.Kind == KindApproval {
		return approvalOutcomes(n.Config)
	}
	return append([]string(nil), kinds[i].Ports...)
}

// approvalOutcomes reads the outcomes leniently, so that a draft with a broken config
// still shows sensible ports.
func approvalOutcomes(config json.RawMessage) []string {
	if len(config) > 0 {
		if v, err := parseJSON(config); err == nil && v.kind == jObject {
			if o := v.get("outcomes"); o != nil && o.kind == jArray && len(o.kids) > 0 {
				out := make([]string, 0, len(o.kids))
				for _, m := range o.kids {
					if m.val.kind == jString {
						out = append(out, m.val.str)
					}
				}
				return out
			}
		}
	}
	return append([]string(nil), DefaultOutcomes...)
}

// DecodeConfig decodes a node's config strictly into its kind's config struct
// (*LLMConfig, *HTTPConfig, *TransformConfig, *ApprovalConfig, *WaitConfig,
// *SubgraphConfig, *MapConfig or *LoopConfig). Unknown fields and wrong types are errors; Validate reports them with
// more detail.
func DecodeConfig(n Node) (any, error) {
	var cfg any
	switch n.Kind {
	case KindLLM:
		cfg = &LLMConfig{}
	case KindAgent:
		cfg = &AgentConfig{}
	case KindHTTP:
		cfg = &HTTPConfig{}
	case KindTransform:
		cfg = &TransformConfig{}
	case KindApproval:
		cfg = &ApprovalConfig{}
	case KindWait:
		cfg = &WaitConfig{}
	case KindSubgraph:
		cfg = &SubgraphConfig{}
	case KindMap:
		cfg = &MapConfig{}
	case KindLoop:
		cfg = &LoopConfig{}
	default:
		return nil, fmt.Errorf("unknown kind %q", n.Kind)
	}
	raw := n.Config
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	// encoding/json matches keys regardless of case; check them exactly first.
	v, err := parseJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s config: %w", n.Kind, err)
	}
	if v.kind != jObject && v.kind != jNull {
		return nil, fmt.Errorf("decode %s config: config must be an object, not %s", n.Kind, v.kind)
	}
	spec := &kinds[kindIndex[n.Kind]]
	for _, m := range v.kids {
		if !spec.hasField(m.key) {
			return nil, fmt.Errorf("decode %s config: unknown field %q", n.Kind, m.key)
		}
		if m.val.kind == jObject && !spec.hasLeaf(m.key) {
			for _, sub := range m.val.kids {
				if !spec.hasField(m.key + "." + sub.key) {
					return nil, fmt.Errorf("decode %s config: unknown field %q", n.Kind, m.key+"."+sub.key)
				}
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("decode %s config: %w", n.Kind, err)
	}
	return cfg, nil
}

// hasField reports whether the kind has a config field of that name, or an object field
// holding dotted ones ("on_due" for "on_due.outcome").
func (k *KindSpec) hasField(name string) bool {
	for _, f := range k.Fields {
		if f.Name == name || strings.HasPrefix(f.Name, name+".") {
			return true
		}
	}
	return false
}

// hasLeaf reports whether name is a field itself, not a parent of dotted fields.
func (k *KindSpec) hasLeaf(name string) bool {
	for _, f := range k.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}
