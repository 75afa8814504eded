package llm

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Tool calling: a request may offer tools, a model's answer may call some of them (several
// at once), and the next request carries the calls and their results back. The agent node
// drives that loop; this package only speaks it in both protocols.

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments; its root is an object.
	Parameters map[string]any
}

// ToolCall is one call a model made: Args is the JSON object of its arguments, as the model
// wrote it (it may not fit the tool's schema; the caller checks).
type ToolCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// ToolResult answers a ToolCall. IsError tells the model the call failed (or was refused),
// so that it may correct itself.
type ToolResult struct {
	CallID  string `json:"call_id"`
	Name    string `json:"name"`
	Content string `json:"content"`
	IsError bool   `json:"is_error,omitempty"`
}

// toolNamePattern is what both protocols accept as a function name.
var toolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// checkTools refuses tools the providers would refuse, with a message naming the tool.
func checkTools(tools []Tool) error {
	seen := map[string]bool{}
	for _, t := range tools {
		switch {
		case !toolNamePattern.MatchString(t.Name):
			return &Error{Type: TypeBadRequest, Message: fmt.Sprintf("tool name %q: use 1 to 64 letters, digits, _ or -", t.Name)}
		case t.Name == answerName:
			return &Error{Type: TypeBadRequest, Message: fmt.Sprintf("tool name %q is reserved for structured answers", t.Name)}
		case seen[t.Name]:
			return &Error{Type: TypeBadRequest, Message: fmt.Sprintf("tool %q is offered twice", t.Name)}
		case t.Parameters != nil && t.Parameters["type"] != "object":
			return &Error{Type: TypeBadRequest, Message: fmt.Sprintf("tool %q: its parameters schema must be an object", t.Name)}
		}
		seen[t.Name] = true
	}
	return nil
}

// parameters is a tool's schema for the wire: an empty object when it takes no arguments.
func (t Tool) parameters() map[string]any {
	if t.Parameters == nil {
		return map[string]any{"type": "object", "properties": map[string]any{}}
	}
	return t.Parameters
}

// argsOrEmpty is a call's arguments for the wire, which wants a JSON object.
func argsOrEmpty(a json.RawMessage) json.RawMessage {
	if len(a) == 0 || !json.Valid(a) {
		return json.RawMessage(`{}`)
	}
	return a
}
