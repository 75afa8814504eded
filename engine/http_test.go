package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"trellis/designer"
	"trellis/internal/testsvc"
)

func newHTTPTestServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "second")
		io.WriteString(w, `{"items": [1, 2], "name": "x"}`)
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "plain words")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 2048))
	})
	mux.HandleFunc("/redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		// Relative, and not through http.Redirect, which would root it: the service lives under a path.
		w.Header().Set("Location", strconv.Itoa(n-1))
		if n == 0 {
			w.Header().Set("Location", "../json")
		}
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(code)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "type": r.Header.Get("Content-Type"),
			"key": r.Header.Get("Idempotency-Key"), "body": string(b)})
	})
	srv := testsvc.New(t, mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPActivity(t *testing.T) {
	srv := newHTTPTestServer(t)
	tests := []struct {
		name      string
		config    string
		scope     map[string]any
		wantOut   string // JSON subset compared on status and body
		wantType  string // error type; empty means success
		retryable bool
		wantMsg   string
		check     func(t *testing.T, out map[string]any, err error)
	}{
		{name: "json body is parsed and headers keep first values in lower case",
			config: `{"url": "$URL/json"}`, wantOut: `{"status": 200, "body": {"items": [1, 2], "name": "x"}}`,
			check: func(t *testing.T, out map[string]any, _ error) {
				h := out["headers"].(map[string]any)
				if h["x-multi"] != "first" || h["content-type"] != "application/json; charset=utf-8" {
					t.Errorf("headers = %v", h)
				}
			}},
		{name: "other bodies are text", config: `{"url": "$URL/text"}`, wantOut: `{"status": 200, "body": "plain words"}`},
		{name: "a string body is a text template", config: `{"method": "PUT", "url": "$URL/echo", "body": "hello {{ input.name }}"}`,
			scope:   map[string]any{"input": map[string]any{"name": "ann"}},
			wantOut: `{"status": 200, "body": {"method": "PUT", "type": "text/plain; charset=utf-8", "key": "run-1/node", "body": "hello ann"}}`},
		{name: "five redirects are followed", config: `{"url": "$URL/redirect/4"}`, wantOut: `{"status": 200, "body": {"items": [1, 2], "name": "x"}}`},
		{name: "a sixth redirect is refused", config: `{"url": "$URL/redirect/5"}`, wantType: ErrTypeTooManyRedirects,
			wantMsg: "more than 5 redirects"},
		{name: "a response over the limit is refused", config: `{"url": "$URL/big"}`, wantType: ErrTypeResponseTooLarge,
			wantMsg: "larger than the limit of 1024 bytes"},
		{name: "404 is not retried", config: `{"url": "$URL/status/404"}`, wantType: ErrTypeHTTPStatus,
			wantMsg: "unexpected HTTP status 404 Not Found (expected 2xx)"},
		{name: "expected 404 is fine", config: `{"url": "$URL/status/404", "expect": [404, "2xx"]}`, wantOut: `{"status": 404, "body": ""}`},
		{name: "503 is retried after Retry-After", config: `{"url": "$URL/status/503"}`, wantType: ErrTypeHTTPStatus, retryable: true,
			check: func(t *testing.T, _ map[string]any, err error) {
				var app *temporal.ApplicationError
				if errors.As(err, &app) && app.NextRetryDelay() != 7*time.Second {
					t.Errorf("next retry delay = %v, want 7s", app.NextRetryDelay())
				}
			}},
		{name: "408 is retried", config: `{"url": "$URL/status/408"}`, wantType: ErrTypeHTTPStatus, retryable: true},
		{name: "429 is retried", config: `{"url": "$URL/status/429"}`, wantType: ErrTypeHTTPStatus, retryable: true},
		{name: "a URL that is not http is a bad request", config: `{"url": "ftp://{{ input.host }}/x"}`,
			scope: map[string]any{"input": map[string]any{"host": "h"}}, wantType: ErrTypeBadRequest, wantMsg: `"ftp://h/x" is not an http(s) URL`},
		{name: "a template that fails at run time is not retried", config: `{"url": "$URL/{{ int('x') }}"}`, wantType: ErrTypeTemplate,
			wantMsg: "field url:"},
		{name: "a secret that is not set is not retried", config: `{"url": "$URL/json", "headers": {"X-Key": "{{ secrets.MISSING }}"}}`,
			wantType: ErrTypeSecret, wantMsg: `secret "MISSING" is not set`},
		{name: "transport errors are retried and never show secrets", config: `{"url": "http://127.0.0.1:1/{{ secrets.KEY }}?k={{ secrets.KEY }}"}`,
			wantType: ErrTypeHTTPTransport, retryable: true,
			check: func(t *testing.T, _ map[string]any, err error) {
				if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "[secret]") {
					t.Errorf("message %q should hide the secret", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			s.SetLogger(NewSDKLogger(quietLogger()))
			env := s.NewTestActivityEnvironment()
			registerActivities(env, &Deps{Secrets: memSecrets{"KEY": "hunter2"}, MaxResponseBytes: 1024})
			var cfg designer.HTTPConfig
			if err := json.Unmarshal([]byte(strings.ReplaceAll(tt.config, "$URL", srv.URL)), &cfg); err != nil {
				t.Fatal(err)
			}
			v, err := env.ExecuteActivity(activityHTTP, httpRequest{RunID: "run-1", NodeID: "node", Config: cfg, Scope: tt.scope})
			var out map[string]any
			if tt.wantType != "" {
				var app *temporal.ApplicationError
				if !errors.As(err, &app) {
					t.Fatalf("error = %v, want an application error of type %s", err, tt.wantType)
				}
				if app.Type() != tt.wantType || app.NonRetryable() == tt.retryable {
					t.Errorf("error type %s non-retryable %v, want %s retryable %v (%v)", app.Type(), app.NonRetryable(), tt.wantType, tt.retryable, err)
				}
				if !strings.Contains(app.Message(), tt.wantMsg) {
					t.Errorf("message %q, want %q", app.Message(), tt.wantMsg)
				}
			} else {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				var res activityResult[map[string]any]
				if err := v.Get(&res); err != nil {
					t.Fatal(err)
				}
				out = res.Output
				var want map[string]any
				_ = json.Unmarshal([]byte(tt.wantOut), &want)
				got := map[string]any{"status": out["status"], "body": out["body"]}
				if toJSON(got) != toJSON(want) {
					t.Errorf("output = %s, want %s", toJSON(got), toJSON(want))
				}
			}
			if tt.check != nil {
				tt.check(t, out, err)
			}
		})
	}
}
