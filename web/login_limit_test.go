package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"trellis/store"
)

// Found by the probe: the limit was per name and address, so varying the name was never
// limited. Failures from one address now count together, whatever the names.
func TestLoginLimitPerAddress(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAnalyst)
	c := app.client()
	for i := range loginIPMaxFailures {
		r := c.postForm("/login", url.Values{"name": {fmt.Sprintf("guess%d", i)}, "password": {"wrong-password"}})
		wantStatus(t, r, http.StatusUnauthorized)
	}
	// A name never tried from here, with the right password, is refused too…
	r := c.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if !strings.Contains(r.Body, msgIPLimited) || r.Header.Get("Retry-After") == "" {
		t.Fatalf("limited answer lacks message or Retry-After:\n%s", r.Body)
	}
	// …until the window ends.
	app.Clock.Advance(loginWindow)
	c.login("alice", testPassword)
}

// Behind a trusted proxy every sign-in arrives from the proxy's address: its X-Forwarded-For
// names the client, so one client's failures lock out that client and not everyone. A
// forwarded address from a peer that is not a trusted proxy is ignored.
func TestLoginLimitBehindTrustedProxy(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	app := newTestApp(t, func(s *appSetup) { s.Config.TrustedProxies = []*net.IPNet{loopback} })
	app.user("alice", store.RoleAnalyst)
	c := app.client()
	for i := range loginIPMaxFailures {
		r := c.postForm("/login", url.Values{"name": {fmt.Sprintf("guess%d", i)}, "password": {"wrong-password"}},
			"X-Forwarded-For", "203.0.113.7")
		wantStatus(t, r, http.StatusUnauthorized)
	}
	r := c.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}}, "X-Forwarded-For", "203.0.113.7")
	wantStatus(t, r, http.StatusTooManyRequests)
	// Another client behind the same proxy signs in.
	r = app.client().postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}}, "X-Forwarded-For", "198.51.100.9")
	wantStatus(t, r, http.StatusSeeOther)
	// A client that claims to be forwarded for someone else, through a proxy it put in front
	// of the trusted one, is still the address the trusted proxy saw.
	r = app.client().postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}},
		"X-Forwarded-For", "198.51.100.9, 203.0.113.7")
	wantStatus(t, r, http.StatusTooManyRequests)

	// Without trusted proxies the header counts for nothing: the peer's address is limited.
	direct := newTestApp(t)
	direct.user("alice", store.RoleAnalyst)
	for i := range loginIPMaxFailures {
		r := direct.client().postForm("/login", url.Values{"name": {fmt.Sprintf("guess%d", i)}, "password": {"wrong-password"}},
			"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		wantStatus(t, r, http.StatusUnauthorized)
	}
	r = direct.client().postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}}, "X-Forwarded-For", "198.51.100.9")
	wantStatus(t, r, http.StatusTooManyRequests)
}

// Found by the probe: each try cost a bcrypt with no bound, so a flood of sign-ins took every
// core and /healthz answered 503. Password checks now take one of a few slots; with all taken,
// a sign-in is told to come back (429) while the health check still answers.
func TestLoginBcryptBounded(t *testing.T) {
	app := newTestApp(t)
	app.user("alice", store.RoleAnalyst)
	if cap(app.Server.loginSlots) < 1 || cap(app.Server.loginSlots) > 8 {
		t.Fatalf("login slots = %d", cap(app.Server.loginSlots))
	}
	for range cap(app.Server.loginSlots) {
		if !app.Server.loginSlots.acquire(context.Background(), time.Second) {
			t.Fatal("could not take a free slot")
		}
	}
	c := app.client()
	r := c.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if !strings.Contains(r.Body, msgLoginBusy) {
		t.Fatalf("busy answer lacks its message:\n%s", r.Body)
	}
	wantStatus(t, c.get("/healthz"), http.StatusOK)

	// A sign-in waiting for a slot gets it when one frees.
	done := make(chan *testResponse, 1)
	go func() {
		done <- app.client().postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}})
	}()
	app.Server.loginSlots.release()
	if r := <-done; r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in after a slot freed: %d\n%s", r.StatusCode, r.Body)
	}
	// A busy refusal is not a failed guess: the name is not limited afterwards.
	for range cap(app.Server.loginSlots) - 1 {
		app.Server.loginSlots.release()
	}
	c.login("alice", testPassword)
}
