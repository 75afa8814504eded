package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/store"
)

func TestSecretAdminSet(t *testing.T) {
	ctx := context.Background()
	app := newTestApp(t, withProviders())
	admin := app.signedIn("root", store.RoleAdmin)
	const value = "sk-live-0123456789abcdef"

	empty := admin.get("/admin/secrets")
	wantStatus(t, empty, http.StatusOK)
	wantBody(t, empty, `data-testid="secret-empty"`, `data-testid="secret-form"`, `type="password"`,
		"encrypted at rest", "secrets.NAME")

	r := admin.postForm("/admin/secrets", url.Values{"name": {"OPENAI_KEY"}, "value": {value}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/secrets?saved=OPENAI_KEY" {
		t.Fatalf("Location = %q", loc)
	}
	if strings.Contains(r.Body, value) || strings.Contains(r.Header.Get("Location"), value) {
		t.Fatal("the answer to setting a secret holds its value")
	}
	got, err := app.DB.Secret(ctx, "OPENAI_KEY")
	if err != nil || got != value {
		t.Fatalf("stored secret = %q, %v", got, err)
	}
	list := admin.get(r.Header.Get("Location"))
	wantBody(t, list, `data-testid="secret-saved"`, "Secret OPENAI_KEY set.", `data-testid="secret-row-OPENAI_KEY"`)

	// Replacing it works the same way.
	r = admin.postForm("/admin/secrets", url.Values{"name": {"OPENAI_KEY"}, "value": {"sk-second"}})
	wantStatus(t, r, http.StatusSeeOther)
	if got, _ := app.DB.Secret(ctx, "OPENAI_KEY"); got != "sk-second" {
		t.Fatalf("replaced secret = %q", got)
	}

	// A provider naming an unset secret shows it as missing, with the provider.
	if err := app.DB.SetProvider(ctx, store.Provider{Name: "cloud", Kind: "openai", BaseURL: "https://api.test/v1", APIKeySecret: "CLOUD_KEY"}); err != nil {
		t.Fatal(err)
	}
	list = admin.get("/admin/secrets")
	wantBody(t, list, `data-testid="secret-row-CLOUD_KEY"`, `data-testid="secret-missing-CLOUD_KEY"`, "cloud")

	// No page an admin can open shows a value.
	for _, page := range []string{"/admin/secrets", "/admin/secrets?saved=OPENAI_KEY", "/admin/providers", "/admin/providers?edit=cloud", "/admin/users"} {
		body := admin.get(page).Body
		if strings.Contains(body, value) || strings.Contains(body, "sk-second") {
			t.Errorf("%s shows a secret value", page)
		}
	}
	if logs := app.Logs.String(); strings.Contains(logs, "sk-second") || strings.Contains(logs, value) {
		t.Error("the log holds a secret value")
	}
	if body := admin.get("/admin/secrets?saved=NOT_A_SECRET").Body; strings.Contains(body, "NOT_A_SECRET") {
		t.Error("the confirmation echoes an arbitrary name")
	}
}

func TestSecretAdminInvalid(t *testing.T) {
	app := newTestApp(t, withProviders())
	admin := app.signedIn("root", store.RoleAdmin)
	const value = "hunter2-do-not-echo"
	tests := []struct {
		name   string
		form   url.Values
		field  string
		answer string
	}{
		{"lowercase name", url.Values{"name": {"api_key"}, "value": {value}}, "secret-name-error", "is not valid"},
		{"empty name", url.Values{"name": {""}, "value": {value}}, "secret-name-error", "is not valid"},
		{"empty value", url.Values{"name": {"API_KEY"}, "value": {""}}, "secret-value-error", "Enter a value"},
		{"too large", url.Values{"name": {"API_KEY"}, "value": {strings.Repeat("x", store.MaxSecretSize+1)}}, "secret-value-error", "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := admin.postForm("/admin/secrets", tt.form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, `data-testid="`+tt.field+`"`) || !strings.Contains(r.Body, tt.answer) {
				t.Fatalf("no inline error %s with %q:\n%s", tt.field, tt.answer, r.Body)
			}
			wantBody(t, r, `data-testid="secret-form-error"`, `aria-invalid="true"`)
			if strings.Contains(r.Body, value) || strings.Contains(r.Body, "xxxxxxxxxx") {
				t.Fatal("the re-rendered form holds the value")
			}
			if name := tt.form.Get("name"); !strings.Contains(r.Body, `value="`+name+`"`) {
				t.Error("the form lost the name")
			}
		})
	}
	if names, _ := app.DB.ListSecretNames(context.Background()); len(names) != 0 {
		t.Fatalf("invalid forms set secrets: %v", names)
	}
}
