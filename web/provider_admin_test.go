package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/store"
)

// withProviders gives the server the test store as its provider and secret store.
func withProviders() appOption {
	return withSetup(func(s *appSetup) { s.Deps.Providers = s.Deps.Users.(*store.DB) })
}

// providerForm is a valid provider form; change fields per test.
func providerForm(name string) url.Values {
	return url.Values{
		"name": {name}, "kind": {"openai"}, "base_url": {"http://127.0.0.1:11434/v1"}, "model": {"llama3.2"},
		"api_key_secret": {""}, "timeout": {""}, "concurrency": {""},
		"price_model": {"", "", ""}, "price_prompt": {"", "", ""}, "price_completion": {"", "", ""},
	}
}

func wantBody(t *testing.T, r *testResponse, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Body, w) {
			t.Errorf("%s %s lacks %q", r.Request.Method, r.Request.URL, w)
		}
	}
}

func TestProviderAdminRoles(t *testing.T) {
	app := newTestApp(t, withProviders())
	paths := []struct {
		method, path string
	}{
		{http.MethodGet, "/admin/providers"},
		{http.MethodPost, "/admin/providers"},
		{http.MethodPost, "/admin/providers/default/delete"},
		{http.MethodGet, "/admin/secrets"},
		{http.MethodPost, "/admin/secrets"},
	}
	for _, role := range []string{store.RoleAnalyst, store.RoleDeveloper, store.RoleReviewer} {
		c := app.signedIn("u-"+role, role)
		for _, p := range paths {
			t.Run(role+" "+p.method+" "+p.path, func(t *testing.T) {
				var r *testResponse
				if p.method == http.MethodGet {
					r = c.get(p.path)
				} else {
					r = c.postForm(p.path, url.Values{"name": {"SOME_KEY"}, "value": {"v"}})
				}
				wantStatus(t, r, http.StatusForbidden)
			})
		}
		if strings.Contains(c.get("/").Body, `href="/admin/providers"`) {
			t.Errorf("%s sees a link to the provider page", role)
		}
	}
	anon := app.client()
	r := anon.get("/admin/providers")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Errorf("anonymous Location = %q", loc)
	}
	if ps, _ := app.DB.ListProviders(context.Background()); len(ps) != 0 {
		t.Fatalf("refused requests stored providers: %+v", ps)
	}
	if names, _ := app.DB.ListSecretNames(context.Background()); len(names) != 0 {
		t.Fatalf("refused requests stored secrets: %v", names)
	}

	// The users page links to the other admin pages, and they link back.
	admin := app.signedIn("root", store.RoleAdmin)
	for page, current := range map[string]string{"/admin/users": "users", "/admin/providers": "providers", "/admin/secrets": "secrets"} {
		r := admin.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `href="/admin/users" data-testid="admin-nav-users"`, `href="/admin/providers" data-testid="admin-nav-providers"`,
			`href="/admin/secrets" data-testid="admin-nav-secrets"`, `data-testid="admin-nav-`+current+`" aria-current="page"`,
			`data-testid="nav-admin" aria-current="page"`)
	}
}

func TestProviderAdminCSRF(t *testing.T) {
	app := newTestApp(t, withProviders())
	admin := app.signedIn("root", store.RoleAdmin)
	if err := app.DB.SetProvider(context.Background(), store.Provider{Name: "keep", Kind: "openai", BaseURL: "http://x.test/v1"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		form       url.Values
	}{
		{"save provider", "/admin/providers", providerForm("default")},
		{"delete provider", "/admin/providers/keep/delete", url.Values{}},
		{"set secret", "/admin/secrets", url.Values{"name": {"API_KEY"}, "value": {"sk-123"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, admin.postFormRaw(tt.path, tt.form), http.StatusForbidden)
			bad := url.Values{CSRFField: {"not-the-token"}}
			for k, v := range tt.form {
				bad[k] = v
			}
			wantStatus(t, admin.postFormRaw(tt.path, bad), http.StatusForbidden)
		})
	}
	ps, _ := app.DB.ListProviders(context.Background())
	if len(ps) != 1 || ps[0].Name != "keep" {
		t.Fatalf("forged requests changed providers: %+v", ps)
	}
	if names, _ := app.DB.ListSecretNames(context.Background()); len(names) != 0 {
		t.Fatalf("a forged request set a secret: %v", names)
	}
}

func TestProviderAdminAddEditDelete(t *testing.T) {
	ctx := context.Background()
	app := newTestApp(t, withProviders())
	admin := app.signedIn("root", store.RoleAdmin)

	empty := admin.get("/admin/providers")
	wantStatus(t, empty, http.StatusOK)
	wantBody(t, empty, `data-testid="provider-empty"`, `data-testid="provider-form"`, `data-testid="provider-help"`,
		"http://127.0.0.1:11434/v1", "llama3.2", `aria-current="page"`)

	// The Ollama example fills the form.
	ex := admin.get("/admin/providers?example=ollama")
	wantBody(t, ex, `value="default"`, `value="http://127.0.0.1:11434/v1"`, `value="llama3.2"`)

	// Add one with a key secret that is not set yet and two prices.
	f := providerForm("cloud")
	f.Set("kind", "anthropic")
	f.Set("base_url", "https://api.anthropic.test")
	f.Set("model", "claude-x")
	f.Set("api_key_secret", "ANTHROPIC_KEY")
	f.Set("timeout", "90")
	f.Set("concurrency", "2")
	f["price_model"] = []string{"claude-x", "", "claude-y"}
	f["price_prompt"] = []string{"3", "", "$0.25"}
	f["price_completion"] = []string{"15", "", "1.25"}
	r := admin.postForm("/admin/providers", f)
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/providers?saved=cloud" {
		t.Fatalf("Location = %q", loc)
	}
	p, err := app.DB.Provider(ctx, "cloud")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Provider{Name: "cloud", Kind: "anthropic", BaseURL: "https://api.anthropic.test", Model: "claude-x",
		APIKeySecret: "ANTHROPIC_KEY", TimeoutSeconds: 90, Concurrency: 2}
	if p.Name != want.Name || p.Kind != want.Kind || p.BaseURL != want.BaseURL || p.Model != want.Model ||
		p.APIKeySecret != want.APIKeySecret || p.TimeoutSeconds != 90 || p.Concurrency != 2 {
		t.Fatalf("saved provider = %+v", p)
	}
	if len(p.Prices) != 2 || p.Prices["claude-x"] != (store.Price{PromptPerMTok: 3, CompletionPerMTok: 15}) ||
		p.Prices["claude-y"] != (store.Price{PromptPerMTok: 0.25, CompletionPerMTok: 1.25}) {
		t.Fatalf("saved prices = %+v", p.Prices)
	}
	list := admin.get(r.Header.Get("Location"))
	wantBody(t, list, `data-testid="provider-saved"`, "Saved provider cloud.", `data-testid="provider-row-cloud"`,
		`data-testid="provider-key-missing-cloud"`, "claude-y", "$0.25 in", "90 s")

	// Once the secret is set, the warning goes.
	if err := app.DB.SetSecret(ctx, "ANTHROPIC_KEY", "sk-ant-secret-value"); err != nil {
		t.Fatal(err)
	}
	list = admin.get("/admin/providers")
	if strings.Contains(list.Body, `data-testid="provider-key-missing-cloud"`) {
		t.Error("the key warning shows although the secret is set")
	}
	if strings.Contains(list.Body, "sk-ant-secret-value") {
		t.Fatal("the provider page shows a secret value")
	}

	// Edit: the form is prefilled, and saving replaces the provider, prices included.
	edit := admin.get("/admin/providers?edit=cloud")
	wantStatus(t, edit, http.StatusOK)
	wantBody(t, edit, "Edit provider cloud", `value="https://api.anthropic.test"`, `value="claude-x"`, `value="90"`,
		`value="2"`, `value="claude-y"`, `value="0.25"`, `<option value="ANTHROPIC_KEY" selected>`, `<option value="anthropic" selected>`)
	f = providerForm("cloud")
	f.Set("api_key_secret", "ANTHROPIC_KEY")
	r = admin.postForm("/admin/providers", f)
	wantStatus(t, r, http.StatusSeeOther)
	p, err = app.DB.Provider(ctx, "cloud")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "openai" || p.TimeoutSeconds != store.DefaultProviderTimeoutSeconds || p.Concurrency != store.DefaultProviderConcurrency || len(p.Prices) != 0 {
		t.Fatalf("replaced provider = %+v", p)
	}
	wantStatus(t, admin.get("/admin/providers?edit=nobody"), http.StatusNotFound)

	// Delete.
	list = admin.get("/admin/providers")
	wantBody(t, list, `action="/admin/providers/cloud/delete"`, `data-confirm="Delete provider cloud?`)
	r = admin.postForm("/admin/providers/cloud/delete", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/providers?deleted=cloud" {
		t.Fatalf("Location = %q", loc)
	}
	if _, err := app.DB.Provider(ctx, "cloud"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	wantBody(t, admin.get(r.Header.Get("Location")), "Deleted provider cloud.")
	wantStatus(t, admin.postForm("/admin/providers/cloud/delete", url.Values{}), http.StatusNotFound)

	// Confirmations name only real providers.
	for _, q := range []string{"saved=Call+555-0100", "deleted=Call+555-0100", "saved=ghost"} {
		if body := admin.get("/admin/providers?" + q).Body; strings.Contains(body, "555-0100") || strings.Contains(body, "Saved provider ghost") {
			t.Errorf("?%s: the confirmation echoes an arbitrary name", q)
		}
	}
}

func TestProviderAdminInvalid(t *testing.T) {
	app := newTestApp(t, withProviders())
	admin := app.signedIn("root", store.RoleAdmin)
	tests := []struct {
		name   string
		change func(url.Values)
		field  string // data-testid of the inline error
		answer string // part of the message
	}{
		{"bad name", func(f url.Values) { f.Set("name", "Not Valid") }, "provider-name-error", "is not valid"},
		{"unknown kind", func(f url.Values) { f.Set("kind", "gemini") }, "provider-kind-error", "is not known: use openai or anthropic"},
		{"no base url", func(f url.Values) { f.Set("base_url", "") }, "provider-base-url-error", "needs a base URL"},
		{"relative base url", func(f url.Values) { f.Set("base_url", "localhost:11434") }, "provider-base-url-error", "not an absolute http(s) URL"},
		{"key in base url", func(f url.Values) { f.Set("base_url", "https://user:sk@api.test/v1") }, "provider-base-url-error", "must not hold credentials"},
		{"bad secret name", func(f url.Values) { f.Set("api_key_secret", "lower") }, "provider-key-error", "Secret name &#34;lower&#34; is not valid"},
		{"timeout not a number", func(f url.Values) { f.Set("timeout", "1m") }, "provider-timeout-error", "whole seconds"},
		{"timeout zero", func(f url.Values) { f.Set("timeout", "0") }, "provider-timeout-error", "between 1 second and"},
		{"timeout too long", func(f url.Values) { f.Set("timeout", "999999") }, "provider-timeout-error", "between 1 second and"},
		{"concurrency too high", func(f url.Values) { f.Set("concurrency", "1000") }, "provider-concurrency-error", "between 1 and 256"},
		{"concurrency huge", func(f url.Values) { f.Set("concurrency", "99999999999999999999") }, "provider-concurrency-error", "whole number"},
		{"price without model", func(f url.Values) { f["price_prompt"] = []string{"1"} }, "provider-prices-error", "name the model"},
		{"price missing", func(f url.Values) { f["price_model"] = []string{"m"}; f["price_prompt"] = []string{"1"} }, "provider-prices-error", "give both prices"},
		{"price negative", func(f url.Values) {
			f["price_model"], f["price_prompt"], f["price_completion"] = []string{"m"}, []string{"-1"}, []string{"1"}
		}, "provider-prices-error", "0 or more"},
		{"price not a number", func(f url.Values) {
			f["price_model"], f["price_prompt"], f["price_completion"] = []string{"m"}, []string{"NaN"}, []string{"cheap"}
		}, "provider-prices-error", "0 or more"},
		{"price twice", func(f url.Values) {
			f["price_model"], f["price_prompt"], f["price_completion"] = []string{"m", "m"}, []string{"1", "2"}, []string{"1", "2"}
		}, "provider-prices-error", "already has a price"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := providerForm("local")
			tt.change(f)
			r := admin.postForm("/admin/providers", f)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, `data-testid="`+tt.field+`"`) || !strings.Contains(r.Body, tt.answer) {
				t.Fatalf("no inline error %s with %q:\n%s", tt.field, tt.answer, r.Body)
			}
			wantBody(t, r, `data-testid="provider-form-error"`, `aria-invalid="true"`)
			if name := f.Get("name"); !strings.Contains(r.Body, `value="`+name+`"`) {
				t.Error("the form lost the name")
			}
		})
	}
	if ps, _ := app.DB.ListProviders(context.Background()); len(ps) != 0 {
		t.Fatalf("invalid forms stored providers: %+v", ps)
	}
}

func TestProviderAdminWithoutStore(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("root", store.RoleAdmin)
	wantStatus(t, admin.get("/admin/providers"), http.StatusServiceUnavailable)
	wantStatus(t, admin.get("/admin/secrets"), http.StatusServiceUnavailable)
}
