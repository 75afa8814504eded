package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// anthropicVersion is the Messages API version this client speaks.
const anthropicVersion = "2023-06-01"

// anthropic speaks the Messages API: POST {base}/v1/messages.
//
// Structured output is a forced tool call: the schema becomes the input_schema of one tool
// and tool_choice makes the model call it. The API validates tool input against that
// schema's shape and returns it as parsed JSON, so the answer cannot come back as prose,
// be wrapped in a code fence or cut short by a prefilled brace, which a system-prompt
// instruction with an assistant prefill would all allow. Feedback on a mismatch goes back
// as the tool's result with is_error, the protocol's own way to say "try again".
type anthropic struct {
	t   *transport
	url string
}

type anthropicRequest struct {
	Model       string             `json:"model"`
	MaxTokens   int                `json:"max_tokens"`
	System      string             `json:"system,omitempty"`
	Messages    []anthropicMessage `json:"messages"`
	Temperature *float64           `json:"temperature,omitempty"`
	Tools       []anthropicTool    `json:"tools,omitempty"`
	ToolChoice  *anthropicChoice   `json:"tool_choice,omitempty"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content []anthropicBlock `json:"content"`
}

// anthropicBlock is a content block: text, tool_use (from the model) or tool_result.
type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   string          `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
}

type anthropicTool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"input_schema"`
}

type anthropicChoice struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

type anthropicResponse struct {
	Type       string           `json:"type"`
	Model      string           `json:"model"`
	Content    []anthropicBlock `json:"content"`
	StopReason string           `json:"stop_reason"`
	Usage      struct {
		InputTokens              int `json:"input_tokens"`
		OutputTokens             int `json:"output_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	} `json:"usage"`
}

func (p *anthropic) send(ctx context.Context, req *Request, msgs []Message, st *structured) (*Response, error) {
	body := anthropicRequest{Model: req.Model, MaxTokens: req.MaxTokens, System: req.System, Temperature: req.Temperature}
	if body.MaxTokens == 0 {
		body.MaxTokens = DefaultMaxTokens
	}
	for _, m := range msgs {
		body.Messages = append(body.Messages, anthropicMessage{Role: m.Role, Content: toAnthropicBlocks(m)})
	}
	for _, t := range req.Tools {
		body.Tools = append(body.Tools, anthropicTool{Name: t.Name, Description: t.Description, InputSchema: t.parameters()})
	}
	if st != nil {
		body.Tools = append(body.Tools, anthropicTool{Name: answerName,
			Description: "Give your answer. Its input is the answer, in the required shape.",
			InputSchema: st.wire})
		// Alone, the answer tool is forced; beside the caller's tools, the model must call
		// one of them, so the final answer still comes in the required shape.
		body.ToolChoice = &anthropicChoice{Type: "tool", Name: answerName}
		if len(req.Tools) > 0 {
			body.ToolChoice = &anthropicChoice{Type: "any"}
		}
	}
	header := http.Header{}
	header.Set("anthropic-version", anthropicVersion)
	if p.t.key != "" {
		header.Set("x-api-key", p.t.key)
	}
	var out anthropicResponse
	if err := p.t.post(ctx, p.url, header, body, req.Model, "Messages API", &out); err != nil {
		return nil, err
	}
	if out.Type != "" && out.Type != "message" {
		return nil, &Error{Status: http.StatusOK, Type: TypeBadResponse, Message: fmt.Sprintf("the provider's answer is a %q, not a message", out.Type)}
	}
	u := out.Usage
	resp := &Response{Model: out.Model, StopReason: out.StopReason, Usage: Usage{
		PromptTokens:     u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		CompletionTokens: u.OutputTokens,
	}}
	if out.StopReason == "refusal" {
		return nil, &Error{Status: http.StatusOK, Type: TypeRefused, Message: "the model refused to answer"}
	}
	var text []string
	for _, b := range out.Content {
		switch {
		case b.Type == "text":
			text = append(text, b.Text)
		case b.Type == "tool_use" && b.Name == answerName && st != nil && resp.toolUseID == "":
			resp.toolUseID = b.ID
			resp.Text = string(b.Input)
		case b.Type == "tool_use" && b.Name != answerName:
			resp.ToolCalls = append(resp.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Args: b.Input})
		}
	}
	if resp.toolUseID == "" {
		resp.Text = strings.Join(text, "")
	}
	return resp, nil
}

// toAnthropicBlocks is a turn's content: its text, the tools it called, or the results of
// the previous turn's calls.
func toAnthropicBlocks(m Message) []anthropicBlock {
	if len(m.ToolCalls) == 0 && len(m.ToolResults) == 0 {
		return []anthropicBlock{toAnthropicBlock(m)}
	}
	var out []anthropicBlock
	for _, r := range m.ToolResults {
		out = append(out, anthropicBlock{Type: "tool_result", ToolUseID: r.CallID, Content: r.Content, IsError: r.IsError})
	}
	if m.Content != "" {
		out = append(out, anthropicBlock{Type: "text", Text: m.Content})
	}
	for _, c := range m.ToolCalls {
		out = append(out, anthropicBlock{Type: "tool_use", ID: c.ID, Name: c.Name, Input: argsOrEmpty(c.Args)})
	}
	return out
}

// toAnthropicBlock turns a turn into its block: a structured answer is the tool call that
// carried it, and feedback on it the tool's result.
func toAnthropicBlock(m Message) anthropicBlock {
	switch {
	case m.ToolUseID != "" && m.Role == RoleAssistant && json.Valid([]byte(m.Content)):
		return anthropicBlock{Type: "tool_use", ID: m.ToolUseID, Name: answerName, Input: json.RawMessage(m.Content)}
	case m.ToolUseID != "" && m.Role == RoleUser:
		return anthropicBlock{Type: "tool_result", ToolUseID: m.ToolUseID, Content: m.Content, IsError: true}
	}
	return anthropicBlock{Type: "text", Text: m.Content}
}
