package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/store"
)

// noSecrets is a SecretSource where no secret is set.
type noSecrets struct{}

func (noSecrets) Secret(_ context.Context, name string) (string, error) {
	return "", fmt.Errorf("secret %s: %w", name, engine.ErrSecretNotFound)
}

// explainDoc has an llm node that fails, a sibling still waiting when it does (stopped), and a
// node after both (never reached). $PROVIDER names the llm node's provider.
const explainDoc = `{"format": "trellis.graph/v1", "name": "Summary",
  "input": {"type": "object", "properties": {"text": {"type": "string"}}},
  "nodes": [
    {"id": "sum", "kind": "llm", "label": "Summarise", "position": {"x": 40, "y": 40},
     "config": {"provider": "$PROVIDER", "prompt": "Sum up {{ input.text }}"}},
    {"id": "nap", "kind": "wait", "label": "Nap", "position": {"x": 40, "y": 200}, "config": {"duration": "1h"}},
    {"id": "after", "kind": "transform", "label": "After", "position": {"x": 340, "y": 120}, "config": {"value": "'done'"}}],
  "edges": [{"from": "sum", "to": "after"}, {"from": "nap", "to": "after"}]}`

// runVisible is a page without its tooltips (SVG <title>s and title attributes), which a
// reader does not see unless they hover.
func runVisible(body string) string {
	body = regexp.MustCompile(`(?s)<title>.*?</title>`).ReplaceAllString(body, "")
	return regexp.MustCompile(` title="[^"]*"`).ReplaceAllString(body, "")
}

// TestRunPagesExplainEnd: a run that failed says once, in words, which node failed and why,
// without the engine's prefixes or command-line advice, and links an admin to the page that
// fixes it (LLM providers, secrets); nodes stopped by the failure and nodes never reached
// are explained in a legend and the inspector; a cancelled run says so once, without an
// error.
func TestRunPagesExplainEnd(t *testing.T) {
	providers := usageProviders{engine.ProviderConfig{Name: "default", Kind: "openai", BaseURL: "http://127.0.0.1:9/v1",
		Model: "m", APIKeySecret: "OPENAI_KEY"}}
	app, rc := newRunAppWith(t, engine.Deps{Providers: providers, Secrets: noSecrets{}})
	ana := app.api("ana", store.RoleAnalyst)
	ghost := ana.createGraph("Summary", strings.Replace(explainDoc, "$PROVIDER", "ghost", 1))
	ana.publish(ghost, "first")
	noProvider := ana.startRun(ghost, map[string]any{"text": "a"})
	keyless := ana.createGraph("Summary", strings.Replace(explainDoc, "$PROVIDER", "default", 1))
	ana.publish(keyless, "first")
	noKey := ana.startRun(keyless, map[string]any{"text": "b"})
	greet := ana.createGraph("Greeting", greetDocV2)
	ana.publish(greet, "with a pause")
	paused := ana.startRun(greet, map[string]any{"name": "Cy"})
	for _, id := range []string{noProvider, noKey} {
		if r := rc.waitRun(t, id, "ended", runEnded); r.Status != engine.RunFailed || r.Nodes["nap"].Status != engine.NodeCancelled {
			t.Fatalf("run %s = %s, nap %s; want failed with nap stopped", id, r.Status, r.Nodes["nap"].Status)
		}
	}
	adm := app.signedIn("root", store.RoleAdmin)
	dev := app.signedIn("dev", store.RoleDeveloper)

	t.Run("llm provider", func(t *testing.T) {
		r := adm.get("/runs/" + noProvider)
		wantStatus(t, r, http.StatusOK)
		page := runVisible(r.Body)
		msg := `no LLM provider named &#34;ghost&#34; is configured`
		if n := strings.Count(page, msg); n != 1 {
			t.Errorf("the failure is shown %d times, want once:\n%s", n, page)
		}
		runWantBody(t, r, `data-testid="run-error"`, `data-error-type="LLMProvider"`, ">Summarise</a>", " failed: ",
			"No usable LLM provider", `href="/admin/providers"`, "Set up an LLM provider on the LLM providers page")
		runWantNoBody(t, &testResponse{Response: r.Response, Body: page}, "LLMProvider:", "LLMProvider</strong>", "trellis provider set",
			`data-testid="run-failures"`, `node &#34;sum&#34; failed`)
		// The others: stopped by the failure, and not reached; each explained.
		runWantBody(t, r, "1 node was still running and stopped when Summarise failed (shown as cancelled); 1 node was not reached.",
			`data-testid="run-legend-cancelled"`, "stopped before they finished, because Summarise failed and the run ended",
			`data-testid="run-legend-not-reached"`, "the run ended before their turn came", `data-testid="run-count-not-reached"`,
			`class="gnode gnode-kind-transform status-not-reached"`, `tl-key-cancelled`, "No output: the run failed.")
		runWantNoBody(t, r, `data-testid="run-count-pending"`, "No output yet")

		// A developer cannot open the admin pages, so is told whom to ask.
		r = dev.get("/runs/" + noProvider)
		runWantBody(t, r, "Ask an admin to set up an LLM provider (Admin › LLM providers).")
		runWantNoBody(t, r, `href="/admin/providers"`)
	})

	t.Run("secret", func(t *testing.T) {
		r := adm.get("/runs/" + noKey)
		page := runVisible(r.Body)
		msg := `the API key of provider &#34;default&#34; is not set`
		if n := strings.Count(page, msg); n != 1 {
			t.Errorf("the failure is shown %d times, want once", n)
		}
		runWantBody(t, r, `data-error-type="SecretError"`, "A secret is missing", `href="/admin/secrets"`, "Set up the secret on the Secrets page")
		runWantNoBody(t, r, "SecretError:", "trellis secret set")
	})

	t.Run("inspector", func(t *testing.T) {
		r := adm.get("/runs/" + noProvider + "?node=sum")
		runWantBody(t, r, `data-testid="inspector-error"`, "No usable LLM provider")
		// The inspector's error is not repeated on the step it came from.
		if strings.Contains(r.Body, `class="run-attempt-error"`) {
			t.Errorf("the step repeats the node's error")
		}
		r = adm.get("/runs/" + noProvider + "?node=nap")
		runWantBody(t, r, `data-testid="inspector-note"`, "Stopped before it finished, because Summarise failed and the run ended.")
		runWantNoBody(t, r, `data-testid="inspector-error"`, "Cancelled</strong>")
		r = adm.get("/runs/" + noProvider + "?node=after")
		runWantBody(t, r, "Not reached: the run ended before this node&#39;s turn came", `data-status="not-reached"`,
			"No output: the node was not reached.", "The node was not reached, so it had no input.")
	})

	t.Run("cancelled", func(t *testing.T) {
		rc.waitRun(t, paused, "pausing", func(r *engine.Run) bool { return r.Nodes["pause"].Status == engine.NodeRunning })
		wantStatus(t, dev.postForm("/runs/"+paused+"/cancel", url.Values{"reason": {"testing"}}), http.StatusSeeOther)
		rc.waitRun(t, paused, "cancelled", runEnded)
		r := dev.get("/runs/" + paused + "?notice=cancel")
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="run-cancelled"`, "The run was cancelled by dev at ", ": “testing”.",
			"1 node was still running and stopped (shown as cancelled).", "No output: the run was cancelled.",
			`data-testid="run-legend-cancelled"`, "because the run was cancelled")
		runWantNoBody(t, r, `data-testid="run-error"`, "Cancelled</strong>", "Cancelled: cancelled", `data-testid="run-notice"`, "alert-success")
		if n := strings.Count(runVisible(r.Body), "The run was cancelled"); n != 1 {
			t.Errorf("the cancellation is told %d times, want once", n)
		}
	})
}
