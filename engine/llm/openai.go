package llm

import (
	"context"
	"net/http"
)

// openAI speaks the Chat Completions protocol: POST {base}/chat/completions.
type openAI struct {
	t   *transport
	url string
}

type openAIMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type openAIRequest struct {
	Model          string          `json:"model"`
	Messages       []openAIMessage `json:"messages"`
	Temperature    *float64        `json:"temperature,omitempty"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	ResponseFormat *openAIFormat   `json:"response_format,omitempty"`
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
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
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
		body.Messages = append(body.Messages, openAIMessage{Role: "system", Content: req.System})
	}
	for _, m := range msgs {
		body.Messages = append(body.Messages, openAIMessage{Role: m.Role, Content: m.Content})
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
	if out.Usage != nil {
		resp.Usage = Usage{PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens}
	}
	return resp, nil
}
