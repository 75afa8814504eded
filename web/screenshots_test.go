package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// TestScreenshots makes the screenshots of docs/ (make screenshots): the demo's refund graph
// in the editor, the inbox and task page of a reviewer with a refund waiting, and the page
// of a finished run, at 1440 and 800 px wide, beside a run that failed on its LLM provider.
// Only with TRELLIS_DOCS_SCREENSHOTS=1: it writes into the repository.
func TestScreenshots(t *testing.T) {
	if os.Getenv("TRELLIS_DOCS_SCREENSHOTS") == "" {
		t.Skip("set TRELLIS_DOCS_SCREENSHOTS=1 (make screenshots) to write docs/screenshots")
	}
	requireChromium(t)
	d := newDemo(t)
	b := newBrowser(t, d.app)
	b.login("ada", testPassword)
	pages := []struct{ name, path, ready string }{
		{"editor", "/graphs/" + d.graph + "/edit", `document.querySelector('[data-testid="node-reply"]') !== null`},
		{"inbox", "/inbox", `document.querySelector('[data-testid="inbox-row-` + d.task + `"]') !== null`},
		{"task", "/tasks/" + d.task, `document.querySelector('[data-testid="task-form"]') !== null`},
		{"run", "/runs/" + d.done, `document.querySelector('[data-testid="run-status"]') !== null`},
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{1440, 800} {
		b.viewport(width, 900)
		for _, p := range pages {
			b.open(p.path)
			b.waitJS(p.name+" ready", p.ready+` && document.readyState === "complete"`)
			if over := evalJS[int](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
				t.Errorf("%s at %d px scrolls sideways by %d px", p.name, width, over)
			}
			png := browserRun(b, "screenshot "+p.name, chromedp.CaptureScreenshot())
			name := filepath.Join(dir, p.name+"-"+strconv.FormatInt(width, 10)+".png")
			if err := os.WriteFile(name, png, 0o644); err != nil {
				t.Fatal(err)
			}
			if p.name == "editor" && width == 1440 {
				if err := os.WriteFile(filepath.Join("..", "docs", "screenshot.png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// demo is the app with the samples' refund graph published and three of its runs: one
// finished, one waiting for a reviewer (task), one failed on its LLM provider.
type demo struct {
	app                 *testApp
	graph, task         string
	done, waits, failed string
}

func newDemo(t *testing.T) *demo {
	chat := newDemoChat(t)
	tasks := &engineTasksForTest{}
	providers := usageProviders{engine.ProviderConfig{Name: "default", Kind: "openai", BaseURL: chat.URL + "/v1", Model: "gpt-4o-mini",
		Prices: map[string]engine.ModelPrice{"gpt-4o-mini": {PromptPerMTok: 0.15, CompletionPerMTok: 0.6}}}}
	rc := startRunClusterWith(t, engine.Deps{Tasks: tasks, Providers: providers})
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Graphs, s.Deps.Tasks, s.Deps.Runs = db, db, rc.eng
		s.Config.Now = time.Now // run pages compare Temporal's times with the server's clock
	}))
	tasks.DB = app.DB
	app.Clock.Advance(time.Since(app.Clock.Now())) // the store's times are today's, as the engine's are
	if _, _, err := app.DB.UpsertUser(context.Background(), store.UserInput{Name: "ada", Password: testPassword,
		Roles: []string{store.RoleAdmin, store.RoleReviewer}, Groups: []string{"reviewers", "legal"}}); err != nil {
		t.Fatal(err)
	}
	ana := app.api("analyst", store.RoleAnalyst)
	d := &demo{app: app, graph: publishSample(t, ana, "refund-approval.json")}
	// A contract waiting for legal keeps the refund company in the inbox.
	contract := ana.startRun(publishSample(t, ana, "wait-and-remind.json"), map[string]any{"contract_id": "C-1042"})
	start := func(customer string, amount float64, message string) string {
		return ana.startRun(d.graph, map[string]any{"customer": customer, "amount": amount, "message": message})
	}
	d.done = start("ada@example.com", 120, "The parcel arrived damaged.")
	d.waits = start("cy@example.com", 890, "I was charged twice for my order.")
	d.failed = start("bo@example.com", 45, "Please refund my order.")
	rc.waitRun(t, d.done, "the small refund ends", runEnded)
	rc.waitRun(t, d.failed, "the run without a model fails", runEnded)
	d.task = waitTaskID(t, app, d.waits, "review")
	waitTaskID(t, app, contract, "signoff")
	return d
}

// waitTaskID waits for the task of a run's approval node to open.
func waitTaskID(t *testing.T, app *testApp, runID, node string) string {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if task, err := app.DB.GetTaskByNode(context.Background(), runID, node); err == nil {
			return task.ID
		}
	}
	t.Fatalf("the task of %s in run %s did not open", node, runID)
	return ""
}

// publishSample creates and publishes one of the demo's sample graphs, and returns its id.
func publishSample(t *testing.T, ana *apiClient, file string) string {
	raw, err := os.ReadFile(filepath.Join("..", "cmd", "trellis", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	id := ana.createGraph("", string(raw))
	ana.publish(id, "First version")
	return id
}

// newDemoChat is an OpenAI-compatible provider for the refund graph: it classifies, writes
// replies, and knows no model for bo@example.com, so that a run fails as it would in life.
func newDemoChat(tb testing.TB) *httptest.Server {
	srv := testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), "bo@example.com") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error": {"message": "The model gpt-4o-mini does not exist or you do not have access to it.", "type": "invalid_request_error", "code": "model_not_found"}}`)
			return
		}
		content := "Dear customer, thank you for your patience: your refund is on its way and should reach your account within five working days."
		if strings.Contains(string(body), "triage") {
			content = `{"reason": "Damaged or double-charged order", "fraud_risk": "low"}`
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 412, "completion_tokens": 58}})
	}))
	tb.Cleanup(srv.Close)
	return srv
}
