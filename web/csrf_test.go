package web

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// Found by the probe: the CSRF token was a plain double-submit cookie, so a cookie planted by
// a sibling domain plus the same form value passed. The token is now bound to the session.
func TestCSRFTokenBoundToSession(t *testing.T) {
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "done") }
	app := newTestApp(t, withRoutes(Route{Method: http.MethodPost, Path: "/csrf-probe", Handler: ok}))
	app.user("alice", store.RoleAnalyst)
	app.user("mallory", store.RoleAnalyst)
	alice := app.signedIn("alice")
	mallory := app.signedIn("mallory")

	plant := func(token string) *testResponse {
		alice.setCookie(CSRFCookie, token)
		return alice.postFormRaw("/csrf-probe", url.Values{CSRFField: {token}})
	}
	// A value of the attacker's choosing, an anonymous token, and a token of the attacker's
	// own session: all refused for alice's session.
	anon := app.client().csrfToken()
	for name, token := range map[string]string{
		"made up":           "planted",
		"made-up with dot":  "nonce.mac",
		"anonymous":         anon,
		"another's session": mallory.csrfToken(),
	} {
		r := plant(token)
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("%s token planted in alice's browser: status %d, want 403", name, r.StatusCode)
		}
	}
	// The next page alice loads gives her a token of her own, which works.
	wantStatus(t, alice.get("/"), http.StatusOK)
	if alice.cookie(CSRFCookie) == anon {
		t.Fatal("the planted token was kept")
	}
	wantStatus(t, alice.postForm("/csrf-probe", nil), http.StatusOK)
	// The header works as the form field does, and a token with no match still fails.
	wantStatus(t, alice.do(alice.request(http.MethodPost, "/csrf-probe", nil, CSRFHeader, alice.csrfToken())), http.StatusOK)
	wantStatus(t, alice.postFormRaw("/csrf-probe", url.Values{CSRFField: {mallory.csrfToken()}}), http.StatusForbidden)

	// After sign-out the old token is bound to a dead session and is not accepted anonymously.
	old := alice.csrfToken()
	wantStatus(t, alice.postForm("/logout", nil), http.StatusSeeOther)
	wantStatus(t, alice.postFormRaw("/login", url.Values{CSRFField: {old}, "name": {"alice"}, "password": {testPassword}}), http.StatusForbidden)
	alice.setCookie(CSRFCookie, "")
	alice.login("alice", testPassword)
}
