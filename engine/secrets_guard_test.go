package engine

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"trellis/internal/testsvc"
)

func TestSecretMisuse(t *testing.T) {
	for _, tt := range []struct {
		src   string
		isURL bool
		bad   string
	}{
		{"Bearer {{ secrets.TOKEN }}", false, ""},
		{"{{secrets['TOKEN']}}", false, ""},
		{"{{ input.secretsish }} {{ nodes.a.secrets }}", false, ""},
		{"https://api.example.com/{{ secrets.K }}?k={{ secrets.K }}", true, ""},
		{"{{ int(lower(secrets.S1)) }}", false, "transforms"},
		{"{{ secrets.S1 == 'abc' ? 'y' : 'n' }}", false, "transforms"},
		{"{{ secrets.S1[0:3] }}", false, "transforms"},
		{"x {{ secrets.S1 + 'a' }}", false, "transforms"},
		{"https://{{ secrets.K }}.evil.example/", true, "host"},
		{"https://user:{{ secrets.K }}@api.example/", true, "host"},
	} {
		got := SecretMisuse(tt.src, tt.isURL)
		if (tt.bad == "") != (got == "") || !strings.Contains(got, tt.bad) {
			t.Errorf("SecretMisuse(%q) = %q, want %q", tt.src, got, tt.bad)
		}
	}
}

// TestHTTPResponseEchoingSecretIsRedacted: issue 18's probe saw response bodies and headers
// echoing a secret land in run JSON, pages, history and logs; and a transformed secret in an
// error message. Both are closed now: every encoding is hidden, and transforms are refused.
func TestHTTPResponseEchoingSecretIsRedacted(t *testing.T) {
	const secret = "Sup3r-Secret/Val"
	echo := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-Key")
		w.Header().Set("X-Echo", strings.ToLower(got))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"raw": "`+got+`", "upper": "`+strings.ToUpper(got)+`", "b64": "`+base64.StdEncoding.EncodeToString([]byte(got))+
			`", "pct": "`+url.QueryEscape(got)+`", "list": ["key=`+got+`"], "`+got+`": 1}`)
	}))
	defer echo.Close()
	deps := Deps{Outbound: &OutboundPolicy{AllowPrivate: true}, Secrets: memSecrets{"S1": secret}}
	out, err := runHTTPNode(t, deps, `{"url": "`+echo.URL+`/", "headers": {"X-Key": "{{ secrets.S1 }}"}}`)
	if err != nil {
		t.Fatal(err)
	}
	all := toJSON(out)
	for _, form := range []string{secret, strings.ToLower(secret), strings.ToUpper(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)), url.QueryEscape(secret)} {
		if strings.Contains(all, form) {
			t.Errorf("the output holds the secret as %q: %s", form, all)
		}
	}
	if !strings.Contains(all, "[secret]") {
		t.Errorf("nothing was redacted: %s", all)
	}

	_, err = runHTTPNode(t, deps, `{"url": "`+echo.URL+`/{{ int(lower(secrets.S1)) }}"}`)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrTypeTemplate || !app.NonRetryable() ||
		!strings.Contains(app.Message(), "interpolated whole") || strings.Contains(strings.ToLower(app.Message()), strings.ToLower(secret)) {
		t.Fatalf("a transformed secret: %v", err)
	}
}
