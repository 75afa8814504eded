package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"trellis/store"
)

// TestSecretAdminHosts: the secrets page binds a secret to hosts, shows them, keeps them when
// only the value changes, refuses a bad host with 422 and sets nothing, and * unbinds.
func TestSecretAdminHosts(t *testing.T) {
	ctx := context.Background()
	app := newTestApp(t, withProviders())
	admin := app.signedIn("root", store.RoleAdmin)
	set := func(hosts string, status int) *testResponse {
		t.Helper()
		r := admin.postForm("/admin/secrets", url.Values{"name": {"PAY_KEY"}, "value": {"pk-123456"}, "hosts": {hosts}})
		wantStatus(t, r, status)
		return r
	}
	hostsNow := func() []string {
		h, err := app.DB.SecretHosts(ctx, "PAY_KEY")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	set("api.pay.example, *.pay.example", http.StatusSeeOther)
	if h := hostsNow(); !slices.Equal(h, []string{"*.pay.example", "api.pay.example"}) {
		t.Fatalf("hosts = %v", h)
	}
	page := admin.get("/admin/secrets")
	wantBody(t, page, `data-testid="secret-hosts-PAY_KEY"`, "*.pay.example, api.pay.example", `name="hosts"`)

	set("", http.StatusSeeOther) // a new value keeps the binding
	if h := hostsNow(); len(h) != 2 {
		t.Fatalf("hosts after a new value = %v", h)
	}
	r := set("https://evil.example/x", http.StatusUnprocessableEntity)
	wantBody(t, r, `data-testid="secret-hosts-error"`, "not a host name")
	if h := hostsNow(); len(h) != 2 {
		t.Fatalf("hosts after a refused form = %v", h)
	}
	set("*", http.StatusSeeOther)
	if h := hostsNow(); h != nil {
		t.Fatalf("hosts after * = %v", h)
	}
}
