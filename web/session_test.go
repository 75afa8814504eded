package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

func TestLoginLogout(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAnalyst)
	c := app.client()

	page := c.get("/login")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`data-testid="login-form"`, `name="_csrf"`, `<title>Sign in · Trellis</title>`} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("sign-in page lacks %s", want)
		}
	}

	resp := c.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	wantStatus(t, resp, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Fatalf("Location = %q, want /", loc)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
		t.Fatalf("session cookie attributes: %+v", session)
	}

	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(home.Body, `data-testid="user-name">alice<`) {
		t.Fatalf("home does not show the user:\n%s", home.Body)
	}

	out := c.postForm("/logout", nil)
	wantStatus(t, out, http.StatusSeeOther)
	if loc := out.Header.Get("Location"); loc != "/login" {
		t.Fatalf("logout Location = %q", loc)
	}
	if _, err := app.DB.SessionUser(context.Background(), session.Value); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session still valid on the server after logout: %v", err)
	}
	// Replaying the old cookie does not sign anyone in.
	replay := app.client()
	replay.setCookie(SessionCookie, session.Value)
	wantStatus(t, replay.get("/"), http.StatusSeeOther)
}

func TestLoginSecureCookies(t *testing.T) {
	app := newTestApp(t, withSetup(func(s *appSetup) { s.Config.SecureCookies = true }))
	app.user("alice", store.RoleAnalyst)
	c := app.client()
	resp := c.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	wantStatus(t, resp, http.StatusSeeOther)
	for _, ck := range resp.Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure", ck.Name)
		}
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header with secure cookies")
	}
}

// TestLoginFailuresLookAlike: an unknown user and a wrong password give the same answer.
func TestLoginFailuresLookAlike(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAnalyst)
	c := app.client()
	attempt := func(name, password string) string {
		r := c.postForm("/login", url.Values{"name": {name}, "password": {password}})
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.Body, msgBadLogin) {
			t.Fatalf("no %q in\n%s", msgBadLogin, r.Body)
		}
		if !strings.Contains(r.Body, `value="`+name+`"`) {
			t.Fatalf("the user name %q was not kept", name)
		}
		if c.cookie(SessionCookie) != "" {
			t.Fatal("a failed sign-in set a session")
		}
		return strings.ReplaceAll(r.Body, name, "NAME")
	}
	wrongPassword := attempt("alice", "not-the-password")
	unknownUser := attempt("bobby", "not-the-password")
	if wrongPassword != unknownUser {
		t.Fatalf("answers differ:\n%s\n---\n%s", wrongPassword, unknownUser)
	}
}

func TestLoginRotatesSession(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAnalyst)
	c := app.client()
	c.login("alice", testPassword)
	first := c.cookie(SessionCookie)
	firstCSRF := c.cookie(CSRFCookie)
	c.login("alice", testPassword)
	second := c.cookie(SessionCookie)
	if first == second {
		t.Fatal("signing in again kept the session token")
	}
	if c.cookie(CSRFCookie) == firstCSRF {
		t.Fatal("signing in kept the CSRF token")
	}
	if _, err := app.DB.SessionUser(context.Background(), first); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the replaced session still works: %v", err)
	}
}

func TestLoginNext(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAdmin)

	// An anonymous visit remembers where it was going.
	anon := app.client().get("/admin/users?x=1")
	wantStatus(t, anon, http.StatusSeeOther)
	if loc := anon.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/admin/users?x=1") {
		t.Fatalf("Location = %q", loc)
	}

	tests := []struct {
		next, want string
	}{
		{"/admin/users", "/admin/users"},
		{"/graphs?page=2", "/graphs?page=2"},
		{"", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/\r\nX: y", "/"},
		{"/login", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			c := app.client()
			r := c.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}, "next": {tt.next}})
			wantStatus(t, r, http.StatusSeeOther)
			if loc := r.Header.Get("Location"); loc != tt.want {
				t.Fatalf("next %q: Location = %q, want %q", tt.next, loc, tt.want)
			}
			// A signed-in visit to /login goes on to next as well.
			again := c.get("/login?next=" + url.QueryEscape(tt.next))
			wantStatus(t, again, http.StatusSeeOther)
			if loc := again.Header.Get("Location"); loc != tt.want {
				t.Fatalf("GET /login?next=%q: Location = %q, want %q", tt.next, loc, tt.want)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAnalyst)
	app.user("bobby", store.RoleAnalyst)
	c := app.client()
	for i := range loginMaxFailures {
		r := c.postForm("/login", url.Values{"name": {"alice"}, "password": {"wrong-password"}})
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, r.StatusCode)
		}
	}
	// Now even the right password is refused for that name from this address…
	r := c.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if !strings.Contains(r.Body, msgLoginLimited) || r.Header.Get("Retry-After") == "" {
		t.Fatalf("limited answer lacks message or Retry-After:\n%s", r.Body)
	}
	// …while another name is unaffected…
	app.client().login("bobby", testPassword)
	// …and the limit ends with its window.
	app.Clock.Advance(loginWindow)
	c.login("alice", testPassword)
}

func TestLoginLimiterBounded(t *testing.T) {
	clock := newTestClock()
	l := newLoginLimiter(clock.Now)
	l.cap = 100
	for i := range 1000 {
		l.fail(strings.Repeat("k", i%7) + string(rune('a'+i%26)) + time.Duration(i).String())
		if l.size() > l.cap {
			t.Fatalf("limiter holds %d keys, cap %d", l.size(), l.cap)
		}
	}
	l.fail("victim")
	for range loginMaxFailures - 1 {
		l.fail("victim")
	}
	if l.allowed("victim") {
		t.Fatal("a key at the limit is allowed")
	}
	clock.Advance(loginWindow)
	if !l.allowed("victim") {
		t.Fatal("the limit outlived its window")
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/runs/abc", "/runs/abc"},
		{"/runs?status=failed&page=2", "/runs?status=failed&page=2"},
		{"", "/"},
		{"runs", "/"},
		{"//x.example", "/"},
		{"/\\x.example", "/"},
		{"/a\\b", "/"},
		{"http://x.example/", "/"},
		{"/logout", "/"},
		{"/\x00", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpiredSessionIsDropped(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAnalyst)
	c := app.client()
	c.login("alice", testPassword)
	wantStatus(t, c.get("/"), http.StatusOK)
	app.Clock.Advance(13 * time.Hour) // past the default 12 h
	r := c.get("/")
	wantStatus(t, r, http.StatusSeeOther)
	if c.cookie(SessionCookie) != "" {
		t.Fatal("the expired session cookie was not cleared")
	}
}

func TestHTMXAnonymousGetsHXRedirect(t *testing.T) {
	app := newTestApp(t)
	r := app.client().get("/admin/users", "HX-Request", "true")
	wantStatus(t, r, http.StatusUnauthorized)
	if got := r.Header.Get("HX-Redirect"); got != "/login?next=%2Fadmin%2Fusers" {
		t.Fatalf("HX-Redirect = %q", got)
	}
}

func TestBearerTokens(t *testing.T) {
	whoami := func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"name": CurrentUser(c).Name})
	}
	app := newTestApp(t, withRoutes(
		Route{Method: http.MethodGet, Path: "/api/v1/whoami", Handler: whoami},
		Route{Method: http.MethodPost, Path: "/api/v1/whoami", Handler: whoami},
		Route{Method: http.MethodGet, Path: "/whoami", Handler: whoami},
	))
	app.user("alice", store.RoleAnalyst)
	token := app.token("alice")
	c := app.client()

	r := c.get("/api/v1/whoami", "Authorization", "Bearer "+token)
	wantStatus(t, r, http.StatusOK)
	if r.JSON(t)["name"] != "alice" {
		t.Fatalf("whoami = %s", r.Body)
	}
	// A bearer request carries no cookie authority, so it needs no CSRF token.
	wantStatus(t, c.sendJSON(http.MethodPost, "/api/v1/whoami", map[string]any{}, "Authorization", "Bearer "+token), http.StatusOK)

	wantAPIError(t, c.get("/api/v1/whoami", "Authorization", "Bearer trl_nope"), http.StatusUnauthorized, "unauthorized")
	wantAPIError(t, c.get("/api/v1/whoami", "Authorization", "Basic YTpi"), http.StatusUnauthorized, "unauthorized")
	anon := c.get("/api/v1/whoami")
	wantAPIError(t, anon, http.StatusUnauthorized, "unauthorized")
	if anon.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	// Pages do not accept bearer tokens.
	wantStatus(t, c.get("/whoami", "Authorization", "Bearer "+token), http.StatusSeeOther)

	// A cookie session works for the API too, but then state changes need the CSRF token.
	s := app.signedIn("alice")
	wantStatus(t, s.get("/api/v1/whoami"), http.StatusOK)
	wantAPIError(t, s.sendJSON(http.MethodPost, "/api/v1/whoami", map[string]any{}), http.StatusForbidden, "forbidden")
	wantStatus(t, s.sendJSON(http.MethodPost, "/api/v1/whoami", map[string]any{}, CSRFHeader, s.csrfToken()), http.StatusOK)
}
