package web

import (
	"context"
	"errors"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/store"
)

// TestProviderAdminBrowser walks the admin pages in a real browser: from the users page to the
// providers, the Ollama example saved through the form, a secret set, and a provider deleted
// after the confirmation. Pages that break the CSP or log errors fail it.
func TestProviderAdminBrowser(t *testing.T) {
	ctx := context.Background()
	app := newTestApp(t, withProviders())
	app.user("ada", store.RoleAdmin)
	if err := app.DB.SetProvider(ctx, store.Provider{Name: "cloud", Kind: "anthropic", BaseURL: "https://api.anthropic.com",
		Model: "claude-sonnet-4-5", APIKeySecret: "ANTHROPIC_API_KEY", TimeoutSeconds: 120, Concurrency: 8,
		Prices: map[string]store.Price{"claude-sonnet-4-5": {PromptPerMTok: 3, CompletionPerMTok: 15}, "claude-haiku-4-5": {PromptPerMTok: 1, CompletionPerMTok: 5}}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, app)
	b.login("ada", testPassword)

	b.click("nav-admin")
	b.waitVisible("user-table")
	b.click("admin-nav-providers")
	b.waitVisible("provider-table")
	if !b.exists("provider-key-missing-cloud") {
		t.Error("no warning for the provider whose key secret is not set")
	}

	b.click("provider-example-ollama")
	b.waitVisible("provider-form")
	b.click("provider-save")
	b.waitVisible("provider-saved")
	p, err := app.DB.Provider(ctx, "default")
	if err != nil {
		t.Fatalf("the Ollama example was not saved: %v", err)
	}
	if p.Kind != "openai" || p.BaseURL != "http://127.0.0.1:11434/v1" || p.Model != "llama3.2" || p.APIKeySecret != "" {
		t.Fatalf("saved example = %+v", p)
	}
	b.screenshot("admin-providers")

	// Editing keeps the form filled in when a field is wrong.
	b.click("provider-edit-cloud")
	b.waitVisible("provider-form")
	b.fill("provider-timeout-input", "two minutes")
	b.click("provider-save")
	b.waitVisible("provider-timeout-error")
	if got := b.text("provider-form-error"); got == "" {
		t.Error("no message above the form")
	}
	b.screenshot("admin-providers-error")
	b.allowConsoleErrors("status of 422") // the re-rendered form is a 422 on purpose

	b.click("admin-nav-secrets")
	b.waitVisible("secret-form")
	b.fill("secret-name-input", "ANTHROPIC_API_KEY")
	b.fill("secret-value-input", "sk-ant-browser")
	b.click("secret-save")
	b.waitVisible("secret-saved")
	if v, err := app.DB.Secret(ctx, "ANTHROPIC_API_KEY"); err != nil || v != "sk-ant-browser" {
		t.Fatalf("secret = %q, %v", v, err)
	}
	b.screenshot("admin-secrets")

	b.click("admin-nav-providers")
	b.waitVisible("provider-table")
	if b.exists("provider-key-missing-cloud") {
		t.Error("the key warning stays after the secret was set")
	}
	// Accept the data-confirm question.
	browserRun(b, "accept confirmations", chromedp.Evaluate[bool]("(window.confirm = function () { return true; }, true)"))
	b.click("provider-delete-cloud")
	b.waitVisible("provider-deleted")
	if _, err := app.DB.Provider(ctx, "cloud"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
