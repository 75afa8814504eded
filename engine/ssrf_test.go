package engine

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"trellis/designer"
)

// TestOutboundGuardAddresses: issue 18 asks that http nodes refuse loopback, private,
// link-local and metadata addresses unless allowed, and Trellis's own addresses always.
func TestOutboundGuardAddresses(t *testing.T) {
	deny, err := newOutboundGuard(OutboundPolicy{Deny: []string{"127.0.0.1:8080", "0.0.0.0:7233"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"127.0.0.1:80", "127.9.9.9:80", "[::1]:80", "[::ffff:127.0.0.1]:80", "10.0.0.1:80",
		"172.16.5.5:80", "192.168.1.1:80", "169.254.169.254:80", "[fe80::1]:80", "[fd00:ec2::254]:80",
		"100.100.100.200:80", "0.0.0.0:80", "[::]:80", "[64:ff9b::a9fe:a9fe]:80", "224.0.0.1:80", "255.255.255.255:80"} {
		if err := deny.check("h", netip.MustParseAddrPort(a)); err == nil {
			t.Errorf("%s is allowed by the default policy", a)
		}
	}
	for _, a := range []string{"93.184.216.34:443", "[2606:2800:220:1::1]:443", "1.1.1.1:53"} {
		if err := deny.check("h", netip.MustParseAddrPort(a)); err != nil {
			t.Errorf("public %s refused: %v", a, err)
		}
	}

	allow, err := newOutboundGuard(OutboundPolicy{AllowPrivate: true, Deny: []string{"127.0.0.1:8080", "0.0.0.0:7233"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := allow.check("h", netip.MustParseAddrPort("10.0.0.1:80")); err != nil {
		t.Errorf("--http-allow-private refused a private address: %v", err)
	}
	// Own addresses stay refused: the web listener (on any loopback address) and the
	// Temporal frontend listening on all interfaces.
	for _, a := range []string{"127.0.0.1:8080", "127.0.0.2:8080", "[::1]:8080", "127.0.0.1:7233", "0.0.0.0:7233"} {
		err := allow.check("h", netip.MustParseAddrPort(a))
		if be, ok := asBlocked(err); !ok || be.Reason != reasonOwn {
			t.Errorf("own address %s: %v", a, err)
		}
	}

	list, err := newOutboundGuard(OutboundPolicy{Allow: []string{"10.1.0.0/16", "Internal.Example", "192.168.7.7"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, addr string
		ok         bool
	}{
		{"h", "10.1.2.3:80", true}, {"h", "10.2.0.1:80", false}, {"internal.example", "10.9.9.9:80", true},
		{"other.example", "10.9.9.9:80", false}, {"h", "192.168.7.7:80", true}, {"h", "192.168.7.8:80", false},
	} {
		if err := list.check(c.host, netip.MustParseAddrPort(c.addr)); (err == nil) != c.ok {
			t.Errorf("--http-allow: %s at %s: %v, want allowed %v", c.host, c.addr, err, c.ok)
		}
	}
	for _, bad := range []string{"10.0.0.0/99", "http://x", "a b"} {
		if err := (OutboundPolicy{Allow: []string{bad}}).Check(); err == nil {
			t.Errorf("--http-allow %q accepted", bad)
		}
	}
}

// runHTTPNode runs one http node in the activity test environment.
func runHTTPNode(t *testing.T, deps Deps, config string) (map[string]any, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(NewSDKLogger(quietLogger()))
	env := s.NewTestActivityEnvironment()
	registerActivities(env, &deps)
	var cfg designer.HTTPConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatal(err)
	}
	v, err := env.ExecuteActivity(activityHTTP, httpRequest{RunID: "run-1", NodeID: "node", Config: cfg})
	if err != nil {
		return nil, err
	}
	var out activityResult[map[string]any]
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out.Output, nil
}

func wantBlocked(t *testing.T, err error, what string) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeHTTPBlocked || !app.NonRetryable() {
		t.Fatalf("%s: error = %v, want a non-retryable %s", what, err, ErrTypeHTTPBlocked)
	}
	if !strings.Contains(app.Message(), "refused to connect") {
		t.Errorf("%s: message %q does not say what was refused", what, app.Message())
	}
}

// TestHTTPNodeRefusesPrivateAddresses: the check is made on the address connected to, after
// DNS (localhost), and again on each redirect.
func TestHTTPNodeRefusesPrivateAddresses(t *testing.T) {
	var hits sync.Map
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		io.WriteString(w, "inside")
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/via-redirect", http.StatusFound)
	}))
	defer redirector.Close()
	tu, _ := url.Parse(target.URL)
	ru, _ := url.Parse(redirector.URL)

	deny := Deps{Outbound: &OutboundPolicy{}}
	_, err := runHTTPNode(t, deny, `{"url": "`+target.URL+`/direct"}`)
	wantBlocked(t, err, "a loopback address")
	_, err = runHTTPNode(t, deny, `{"url": "http://localhost:`+tu.Port()+`/by-name"}`)
	wantBlocked(t, err, "a name that resolves to loopback")

	// The redirector's name is allowed; the address it redirects to is not.
	_, err = runHTTPNode(t, Deps{Outbound: &OutboundPolicy{Allow: []string{"localhost"}}},
		`{"url": "http://localhost:`+ru.Port()+`/start"}`)
	wantBlocked(t, err, "a redirect to a loopback address")
	for _, p := range []string{"/direct", "/by-name", "/via-redirect"} {
		if _, ok := hits.Load(p); ok {
			t.Errorf("the refused request %s reached the server", p)
		}
	}

	// Allowed, the same requests go through.
	out, err := runHTTPNode(t, Deps{Outbound: &OutboundPolicy{AllowPrivate: true}}, `{"url": "`+redirector.URL+`/start"}`)
	if err != nil || out["body"] != "inside" {
		t.Fatalf("with --http-allow-private: %v, %v", out, err)
	}
	// Never the own addresses.
	_, err = runHTTPNode(t, Deps{Outbound: &OutboundPolicy{AllowPrivate: true, Deny: []string{tu.Host}}}, `{"url": "`+target.URL+`/own"}`)
	wantBlocked(t, err, "Trellis's own address")
}

// TestHTTPRedirectDropsSecretsAcrossOrigins: issue 18's probe saw X-Api-Key: {{ secrets.S1 }}
// and a Referer with the first url's query follow a redirect to another host.
func TestHTTPRedirectDropsSecretsAcrossOrigins(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+r.URL.Path] = r.Header.Clone()
			mu.Unlock()
			io.WriteString(w, "ok")
		}
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
	})
	mux.HandleFunc("/stay", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/landed", http.StatusFound)
	})
	mux.HandleFunc("/landed", record("first"))
	first := httptest.NewServer(mux)
	defer first.Close()

	deps := Deps{Outbound: &OutboundPolicy{AllowPrivate: true}, Secrets: memSecrets{"S1": "s3cr3t-value"}}
	cfg := `{"url": "` + first.URL + `/PATH?q=private-query", "headers": {"X-Api-Key": "{{ secrets.S1 }}", "X-Plain": "kept",
	  "X-Lower": "k={{ secrets.S1 }}"}}`
	if _, err := runHTTPNode(t, deps, strings.Replace(cfg, "PATH", "away", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := runHTTPNode(t, deps, strings.Replace(cfg, "PATH", "stay", 1)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	away, stay := seen["other/landed"], seen["first/landed"]
	if away == nil || stay == nil {
		t.Fatalf("redirects did not land: %v", seen)
	}
	if away.Get("X-Api-Key") != "" || away.Get("X-Lower") != "" || away.Get("Referer") != "" {
		t.Errorf("another origin got the secret headers or the Referer: %v", away)
	}
	if away.Get("X-Plain") != "kept" {
		t.Errorf("a header without a secret was dropped: %v", away)
	}
	if stay.Get("X-Api-Key") != "s3cr3t-value" {
		t.Errorf("the same origin lost the header: %v", stay)
	}
}
