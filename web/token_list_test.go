package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"trellis/store"
)

// TestAdminTokens: the admin pages list every API token with its owner and revoke one,
// which stops it at once (issue 18); only admins see the page.
func TestAdminTokens(t *testing.T) {
	app := newTestApp(t, withRoleProbes())
	admin := app.signedIn("root", store.RoleAdmin)
	app.user("dave", store.RoleAnalyst)
	app.user("erin", store.RoleReviewer)
	ctx := context.Background()
	daveTok, err := app.DB.CreateToken(ctx, "dave", "<script>ci</script>")
	if err != nil {
		t.Fatal(err)
	}
	erinTok := app.token("erin")
	list, err := app.DB.ListTokens(ctx, "dave")
	if err != nil || len(list) != 1 {
		t.Fatalf("dave's tokens: %v, %v", list, err)
	}
	id := strconv.FormatInt(list[0].ID, 10)

	page := admin.get("/admin/tokens")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`data-testid="token-table"`, ">dave<", ">erin<", "&lt;script&gt;ci&lt;/script&gt;",
		`action="/admin/tokens/` + id + `/revoke"`, `data-testid="admin-nav-tokens"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("token page lacks %s", want)
		}
	}
	if strings.Contains(page.Body, "<script>ci") {
		t.Error("a token label is not escaped")
	}
	wantStatus(t, app.signedIn("erin").get("/admin/tokens"), http.StatusForbidden)

	// A form naming another owner than the token's revokes nothing.
	wantStatus(t, admin.postForm("/admin/tokens/"+id+"/revoke", url.Values{"user": {"erin"}}), http.StatusNotFound)
	wantStatus(t, app.bearer(daveTok, "/api/v1/probe/analyst"), http.StatusOK)

	r := admin.postForm("/admin/tokens/"+id+"/revoke", url.Values{"user": {"dave"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/tokens?revoked="+id {
		t.Fatalf("Location = %q", loc)
	}
	if body := admin.get(r.Header.Get("Location")).Body; !strings.Contains(body, `data-testid="token-revoked"`) || strings.Contains(body, "token-row-"+id+`"`) {
		t.Error("after revoking: no notice, or the token is still listed")
	}
	wantAPIError(t, app.bearer(daveTok, "/api/v1/probe/analyst"), http.StatusUnauthorized, "unauthorized")
	wantStatus(t, app.bearer(erinTok, "/api/v1/probe/reviewer"), http.StatusOK)
	wantStatus(t, admin.postForm("/admin/tokens/"+id+"/revoke", url.Values{"user": {"dave"}}), http.StatusNotFound)
}
