package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// usageProviders is a ProviderSource with one provider, "default".
type usageProviders struct{ p engine.ProviderConfig }

func (u usageProviders) Provider(_ context.Context, name string) (*engine.ProviderConfig, error) {
	if name != "default" {
		return nil, fmt.Errorf("provider %s: %w", name, engine.ErrProviderNotFound)
	}
	p := u.p
	return &p, nil
}

// newChatCompletions answers every Chat Completions request with the same usage.
func newChatCompletions(tb testing.TB, model string, prompt, completion int) *httptest.Server {
	srv := testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "model": model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": "Hi there"}}},
			"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion}})
	}))
	tb.Cleanup(srv.Close)
	return srv
}

const usageDoc = `{"format": "trellis.graph/v1", "name": "Chatty",
  "nodes": [
    {"id": "ask", "kind": "llm", "label": "Ask", "position": {"x": 40, "y": 40}, "config": {"prompt": "Hello {{ input.name }}"}},
    {"id": "again", "kind": "llm", "label": "Again", "position": {"x": 240, "y": 40}, "config": {"prompt": "Again: {{ nodes.ask.output.text }}"}},
    {"id": "done", "kind": "transform", "label": "Done", "position": {"x": 440, "y": 40}, "config": {"value": "nodes.again.output.text"}}],
  "edges": [{"from": "ask", "to": "again"}, {"from": "again", "to": "done"}]}`

// TestRunUsage: a run with llm nodes shows each node's model, tokens and cost in the
// inspector, the run's totals in its header, and the totals in the runs list (from the
// search attributes the run sets when it ends); a run without llm nodes shows none.
func TestRunUsage(t *testing.T) {
	chat := newChatCompletions(t, "gpt-test", 1234, 100)
	providers := usageProviders{engine.ProviderConfig{Name: "default", Kind: "openai", BaseURL: chat.URL + "/v1", Model: "gpt-test",
		Prices: map[string]engine.ModelPrice{"gpt-test": {PromptPerMTok: 2.5, CompletionPerMTok: 10}}}}
	app, rc := newRunAppWith(t, engine.Deps{Providers: providers})
	ana := app.api("ana", store.RoleAnalyst)
	chatty := ana.createGraph("Chatty", usageDoc)
	ana.publish(chatty, "first")
	id := ana.startRun(chatty, map[string]any{"name": "Ann"})
	if run := rc.waitRun(t, id, "ended", runEnded); run.Status != engine.RunCompleted {
		t.Fatalf("run %s: %+v", run.Status, run.Error)
	}
	greet := ana.createGraph("Greeting", greetDoc)
	ana.publish(greet, "first")
	plain := ana.startRun(greet, map[string]any{"name": "Ada"})
	rc.waitRun(t, plain, "ended", runEnded)
	dev := app.signedIn("dev", store.RoleDeveloper)

	// Per node 1,234 + 100 tokens at 2.5 and 10 per million: 0.003085 + 0.001 = 0.004085.
	t.Run("run page", func(t *testing.T) {
		r := dev.get("/runs/" + id + "?node=ask")
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="run-usage"`, "2,668 tokens", "cost 0.00817", `title="2,468 prompt + 200 completion tokens"`,
			`data-testid="inspector-model">gpt-test<`, `data-testid="inspector-tokens">1,234 prompt + 100 completion<`,
			`data-testid="inspector-cost">0.004085<`)
		// A node of another kind has no usage; the run's totals stay.
		r = dev.get("/runs/" + id + "?node=done")
		runWantBody(t, r, "2,668 tokens")
		runWantNoBody(t, r, `data-testid="inspector-tokens"`, `data-testid="inspector-model"`)
		r = dev.get("/runs/" + plain)
		runWantNoBody(t, r, `data-testid="run-usage"`)
	})

	t.Run("runs list", func(t *testing.T) {
		// Visibility learns of the attributes a moment after the run ends.
		var r *testResponse
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			r = dev.get("/runs")
			if strings.Contains(r.Body, `data-testid="run-tokens-`+id+`">2,668<`) {
				break
			}
		}
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="run-tokens-`+id+`">2,668<`, `data-testid="run-cost-`+id+`">0.00817<`,
			`data-testid="run-tokens-`+plain+`">–<`, `data-testid="run-cost-`+plain+`">–<`)
		rows := usageRows(t, ana.get("/runs?graph="+chatty))
		if len(rows) != 1 || rows[0]["tokens"] != 2668.0 || rows[0]["cost"] != 0.00817 {
			t.Errorf("API rows = %v", rows)
		}
		rows = usageRows(t, ana.get("/runs?graph="+greet))
		if len(rows) != 1 || rows[0]["tokens"] != nil || rows[0]["cost"] != nil {
			t.Errorf("API rows of a run without llm nodes = %v", rows)
		}
	})
}

func usageRows(tb testing.TB, r *testResponse) []map[string]any {
	tb.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.Body), &rows); err != nil {
		tb.Fatalf("not a list of runs: %v\n%s", err, r.Body)
	}
	return rows
}

func TestRunUsageFormat(t *testing.T) {
	tokens := map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"}
	for n, want := range tokens {
		if got := runTokens(n); got != want {
			t.Errorf("runTokens(%d) = %q, want %q", n, got, want)
		}
	}
	costs := map[float64]string{0: "0", 0.0045: "0.0045", 0.00000049: "0", 1.5: "1.5", 123.456: "123.46"}
	for c, want := range costs {
		if got := runCost(c); got != want {
			t.Errorf("runCost(%v) = %q, want %q", c, got, want)
		}
	}
}
