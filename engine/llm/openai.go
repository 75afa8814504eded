package llm

import (
	"context"
	"encoding/json"
	"net/http"
)

// openAI speaks the Chat Completions protocol: POST {base}/chat/completions.
type openAI struct {
	t   *transport
	url string
}

type openAIMessage struct {
	Role       string           `json:"role"`
	Content    *string          `json:"content"`
	ToolCalls  []openAIToolCall `json:"tool_calls,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

type openAIToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
		// Arguments is a JSON object encoded as a string, as the protocol has it.
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type openAITool struct {
	Type     string         `json:"type"`
	Function openAIFunction `json:"function"`
}

type openAIFunction struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Parameters  map[string]any `json:"parameters"`
}

type openAIRequest struct {
	Model          string          `json:"model"`
	Messages       []openAIMessage `json:"messages"`
	Temperature    *float64        `json:"temperature,omitempty"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	ResponseFormat *openAIFormat   `json:"response_format,omitempty"`
	Tools          []openAITool    `json:"tools,omitempty"`
}

type openAIFormat struct {
	Type       string           `json:"type"`
	JSONSchema openAIJSONSchema `json:"json_schema"`
}

type openAIJSONSchema struct {
	Name   string         `json:"name"`
	Schema map[string]any `json:"schema"`
	Strict bool           `json:"strict"`
}

type openAIResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content   *string          `json:"content"`
			Refusal   *string          `json:"refusal"`
			ToolCalls []openAIToolCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

func (p *openAI) send(ctx context.Context, req *Request, msgs []Message, st *structured) (*Response, error) {
	body := openAIRequest{Model: req.Model, Temperature: req.Temperature, MaxTokens: req.MaxTokens}
	if req.System != "" {
		body.Messages = append(body.Messages, openAIMessage{Role: "system", Content: &req.System})
	}
	for _, m := range msgs {
		body.Messages = append(body.Messages, toOpenAIMessages(m)...)
	}
	for _, t := range req.Tools {
		body.Tools = append(body.Tools, openAITool{Type: "function",
			Function: openAIFunction{Name: t.Name, Description: t.Description, Parameters: t.parameters()}})
	}
	if st != nil {
		body.ResponseFormat = &openAIFormat{Type: "json_schema",
			JSONSchema: openAIJSONSchema{Name: answerName, Schema: st.wire, Strict: st.strict}}
	}
	header := http.Header{}
	if p.t.key != "" {
		header.Set("Authorization", "Bearer "+p.t.key)
	}
	var out openAIResponse
	if err := p.t.post(ctx, p.url, header, body, req.Model, "Chat Completions", &out); err != nil {
		return nil, err
	}
	if len(out.Choices) == 0 {
		return nil, &Error{Status: http.StatusOK, Type: TypeBadResponse, Message: "the provider's answer has no choices"}
	}
	choice := out.Choices[0]
	if r := choice.Message.Refusal; r != nil && *r != "" {
		return nil, &Error{Status: http.StatusOK, Type: TypeRefused, Message: "the model refused to answer: " + *r}
	}
	resp := &Response{Model: out.Model, StopReason: choice.FinishReason}
	if c := choice.Message.Content; c != nil {
		resp.Text = *c
	}
	for _, tc := range choice.Message.ToolCalls {
		resp.ToolCalls = append(resp.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Args: json.RawMessage(tc.Function.Arguments)})
	}
	if out.Usage != nil {
		resp.Usage = Usage{PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens}
	}
	return resp, nil
}

// toOpenAIMessages is a turn on the wire: an assistant turn with its tool calls, or the
// results of those calls, one "tool" message each.
func toOpenAIMessages(m Message) []openAIMessage {
	if len(m.ToolResults) > 0 {
		var out []openAIMessage
		for _, r := range m.ToolResults {
			content := r.Content
			if r.IsError {
				content = "Error: " + content
			}
			out = append(out, openAIMessage{Role: "tool", ToolCallID: r.CallID, Content: &content})
		}
		if m.Content != "" {
			content := m.Content
			out = append(out, openAIMessage{Role: RoleUser, Content: &content})
		}
		return out
	}
	content := m.Content
	msg := openAIMessage{Role: m.Role, Content: &content}
	if len(m.ToolCalls) > 0 && content == "" {
		msg.Content = nil // the protocol's own form of a turn that only calls tools
	}
	for _, c := range m.ToolCalls {
		tc := openAIToolCall{ID: c.ID, Type: "function"}
		tc.Function.Name, tc.Function.Arguments = c.Name, string(argsOrEmpty(c.Args))
		msg.ToolCalls = append(msg.ToolCalls, tc)
	}
	return []openAIMessage{msg}
}
