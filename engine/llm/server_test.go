package llm

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// reply is one scripted answer of a test provider.
type reply struct {
	status int
	header map[string]string
	body   string
	// hang makes the server answer only when the client gives up.
	hang bool
}

// recorded is one request a test provider received.
type recorded struct {
	method, path string
	header       http.Header
	body         map[string]any
}

// provider is a local HTTP server that answers with scripted replies, in order, and
// records what it was sent. It speaks whichever protocol the replies are written in.
type provider struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	replies []reply
	reqs    []recorded
}

func newProvider(t *testing.T, replies ...reply) *provider {
	t.Helper()
	p := &provider{t: t, replies: replies}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone()}
	if err := json.Unmarshal(raw, &rec.body); err != nil {
		p.t.Errorf("request body is not a JSON object: %v: %s", err, raw)
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, rec)
	if len(p.replies) == 0 {
		p.mu.Unlock()
		p.t.Errorf("unexpected request %d to %s", len(p.reqs), r.URL.Path)
		http.Error(w, "no more scripted replies", http.StatusTeapot)
		return
	}
	rep := p.replies[0]
	p.replies = p.replies[1:]
	p.mu.Unlock()
	if rep.hang {
		<-r.Context().Done()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, rep.body)
}

// requests returns what the server received so far.
func (p *provider) requests() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.reqs...)
}

// openAIAnswer is a Chat Completions response with content.
func openAIAnswer(model, content string, prompt, completion int) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content, "refusal": nil}}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
	return string(b)
}

// anthropicText is a Messages API response with text blocks.
func anthropicText(model string, in, out int, texts ...string) string {
	var blocks []any
	for _, t := range texts {
		blocks = append(blocks, map[string]any{"type": "text", "text": t})
	}
	return anthropicMessageJSON(model, "end_turn", blocks, in, out)
}

// anthropicTool is a Messages API response with a tool_use block.
func anthropicToolAnswer(model, id, input string, in, out int) string {
	blocks := []any{map[string]any{"type": "tool_use", "id": id, "name": answerName, "input": json.RawMessage(input)}}
	return anthropicMessageJSON(model, "tool_use", blocks, in, out)
}

func anthropicMessageJSON(model, stop string, blocks []any, in, out int) string {
	b, _ := json.Marshal(map[string]any{
		"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": blocks,
		"stop_reason": stop, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": out},
	})
	return string(b)
}

// mustError asserts that err is an *Error and returns it.
func mustError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *llm.Error", err, err)
	}
	return e
}

// jsonPath digs into a decoded JSON value: "messages.1.content".
func jsonPath(v any, path string) any {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i := 0
			for _, c := range seg {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
