package engine

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"

	"trellis/internal/testsvc"
)

// boundSecrets are secrets with the hosts each is bound to.
type boundSecrets struct {
	values map[string]string
	hosts  map[string][]string
}

func (b boundSecrets) Secret(_ context.Context, name string) (string, error) {
	if v, ok := b.values[name]; ok {
		return v, nil
	}
	return "", ErrSecretNotFound
}

func (b boundSecrets) SecretHosts(_ context.Context, name string) ([]string, error) {
	return b.hosts[name], nil
}

// TestSecretBoundToHosts: issue 18 asks that a secret bound to hosts is never sent to
// another: the node fails before any request, and a redirect off the hosts is not followed.
func TestSecretBoundToHosts(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // path → X-Api-Key received
	var svcURL string
	svc := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.Header.Get("X-Api-Key")
		mu.Unlock()
		if r.URL.Path == "/away" {
			// The same listener under another name: another host for the binding.
			http.Redirect(w, r, strings.Replace(svcURL, "127.0.0.1", "localhost", 1)+"/landed?k="+r.URL.Query().Get("k"), http.StatusTemporaryRedirect)
		}
	})
	svcURL = svc.URL
	const secret = "bound-secret-value"
	deps := func(hosts ...string) Deps {
		return Deps{Outbound: &OutboundPolicy{AllowPrivate: true},
			Secrets: boundSecrets{values: map[string]string{"S1": secret}, hosts: map[string][]string{"S1": hosts}}}
	}
	cfg := func(path string) string {
		return `{"url": "` + svc.URL + path + `?k={{ secrets.S1 }}", "headers": {"X-Api-Key": "{{ secrets.S1 }}"}}`
	}
	wantRefused := func(err error, what string) {
		t.Helper()
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != ErrTypeSecretHost || !app.NonRetryable() ||
			!strings.Contains(app.Message(), "secret S1 may be sent only to") || strings.Contains(app.Message(), secret) {
			t.Fatalf("%s: %v, want a non-retryable %s naming the secret", what, err, ErrTypeSecretHost)
		}
	}

	_, err := runHTTPNode(t, deps("api.example.com", "*.example.org"), cfg("/here"))
	wantRefused(err, "a host the secret is not bound to")
	if !strings.Contains(err.Error(), "nothing was sent") {
		t.Errorf("the refusal does not say nothing was sent: %v", err)
	}
	mu.Lock()
	if _, ok := got["/here"]; ok {
		t.Fatal("the request was sent despite the binding")
	}
	mu.Unlock()

	if _, err := runHTTPNode(t, deps("127.0.0.1"), cfg("/here")); err != nil {
		t.Fatalf("a bound host: %v", err)
	}
	if _, err := runHTTPNode(t, deps(), cfg("/free")); err != nil {
		t.Fatalf("an unbound secret: %v", err)
	}
	mu.Lock()
	if got["/here"] != secret || got["/free"] != secret {
		t.Fatalf("the allowed requests did not carry the secret: %v", got)
	}
	mu.Unlock()

	_, err = runHTTPNode(t, deps("127.0.0.1"), cfg("/away"))
	wantRefused(err, "a redirect off the bound hosts")
	mu.Lock()
	defer mu.Unlock()
	if _, ok := got["/landed"]; ok {
		t.Fatalf("the redirect to another host was followed: %v", got)
	}
}

func TestHostAllowed(t *testing.T) {
	hosts := []string{"api.example.com", "*.example.org", "10.0.0.1", "::1"}
	for host, want := range map[string]bool{"api.example.com": true, "API.Example.com.": true, "x.api.example.com": false,
		"example.com": false, "a.example.org": true, "a.b.example.org": true, "example.org": false, "evilexample.org": false,
		"10.0.0.1": true, "[::1]": true, "10.0.0.2": false} {
		if got := HostAllowed(hosts, host); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}
