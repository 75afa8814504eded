package engine

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"trellis/designer"
	"trellis/internal/testsvc"
	"trellis/internal/urlpart"
)

// urlValues are awkward values with their path-segment and query-value encodings.
var urlValues = []struct{ value, path, query string }{
	{"a b", "a%20b", "a+b"},
	{"a&b", "a&b", "a%26b"},
	{"a=b", "a=b", "a%3Db"},
	{"a#b", "a%23b", "a%23b"},
	{"a/b", "a%2Fb", "a%2Fb"},
	{"a?b", "a%3Fb", "a%3Fb"},
	{"100%", "100%25", "100%25"},
	{"a+b", "a+b", "a%2Bb"},
	{"é", "%C3%A9", "%C3%A9"},
	{"日本", "%E6%97%A5%E6%9C%AC", "%E6%97%A5%E6%9C%AC"},
}

func TestRenderURL(t *testing.T) {
	type tcase struct {
		name, tpl string
		input     map[string]any
		want      string
	}
	var tests []tcase
	for _, v := range urlValues {
		in := map[string]any{"v": v.value, "base": "https://api.test/v1"}
		tests = append(tests,
			tcase{"path segment " + v.value, "https://api.test/items/{{ input.v }}/x", in, "https://api.test/items/" + v.path + "/x"},
			tcase{"query value " + v.value, "https://api.test/s?q={{ input.v }}&n=1", in, "https://api.test/s?q=" + v.query + "&n=1"},
			tcase{"query key " + v.value, "https://api.test/s?{{ input.v }}=1", in, "https://api.test/s?" + v.query + "=1"},
			tcase{"after a base " + v.value, "{{ input.base }}/echo?q={{ input.v }}", in, "https://api.test/v1/echo?q=" + v.query},
		)
	}
	tests = append(tests,
		tcase{"a base is written as it is", "{{ input.base }}/x", map[string]any{"base": "https://u:p@api.test:8443/v1?k=a b"},
			"https://u:p@api.test:8443/v1?k=a b/x"},
		tcase{"blanks before a base", "  {{ input.base }}/x", map[string]any{"base": "https://api.test/a b"}, "  https://api.test/a b/x"},
		tcase{"a base with a query puts later values in the query", "{{ input.base }}&q={{ input.v }}",
			map[string]any{"base": "https://api.test/s?x=1", "v": "a&b=c d"}, "https://api.test/s?x=1&q=a%26b%3Dc+d"},
		tcase{"a value right after the base is encoded", "{{ input.base }}{{ input.v }}",
			map[string]any{"base": "https://api.test/p/", "v": "a/b?c"}, "https://api.test/p/a%2Fb%3Fc"},
		tcase{"a host keeps its port", "https://{{ input.v }}/x", map[string]any{"v": "api.test:8443"}, "https://api.test:8443/x"},
		tcase{"a host cannot end the authority", "https://{{ input.v }}/x", map[string]any{"v": "evil.test/x?y#z@w"},
			"https://evil.test%2Fx%3Fy%23z%40w/x"},
		tcase{"a fragment value", "https://api.test/#{{ input.v }}", map[string]any{"v": "a b#c/d?"}, "https://api.test/#a%20b%23c/d?"},
		tcase{"numbers and null", "https://api.test/{{ input.n }}?v={{ input.none }}", map[string]any{"n": 5.0}, "https://api.test/5?v="},
		tcase{"literal text is left as written", "https://api.test/a%20b?x=1&y={{ input.v }}", map[string]any{"v": "é"},
			"https://api.test/a%20b?x=1&y=%C3%A9"},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := designer.CompileTemplate(tt.tpl)
			if err != nil {
				t.Fatal(err)
			}
			got, err := renderURL(tpl, map[string]any{"input": tt.input})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("renderURL(%q) = %q, want %q", tt.tpl, got, tt.want)
			}
		})
	}
}

// uriRecorder answers 200 and keeps each request's raw request URI.
type uriRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	uris []string
}

func newURIRecorder(t *testing.T) *uriRecorder {
	rec := &uriRecorder{}
	rec.Server = testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.uris = append(rec.uris, r.RequestURI)
		rec.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(rec.Close)
	return rec
}

// TestHTTPNodeEncodesURLValues runs two http nodes per awkward value and checks that the
// service receives exactly that value from a path segment, the url's query and the query
// map, while the base URL and its own query arrive unchanged.
func TestHTTPNodeEncodesURLValues(t *testing.T) {
	g := mustGraph(t, `{"nodes": [
		{"id": "path", "kind": "http", "config": {
			"url": "{{ input.base }}/items/{{ input.v }}/echo?q={{ input.v }}",
			"query": {"k": "{{ input.v }}", "a b&": "{{ input.v }}!"}}},
		{"id": "base_query", "kind": "http", "config": {
			"url": "{{ input.base }}?fixed=1&q={{ input.v }}", "query": {"k": "{{ input.v }}"}}}],
		"edges": [{"from": "path", "to": "base_query"}]}`)
	for _, v := range urlValues {
		t.Run(v.value, func(t *testing.T) {
			srv := newURIRecorder(t)
			res := runInTestEnv(t, g, map[string]any{"base": srv.URL + "/api", "v": v.value}, Deps{}, nil)
			if res.err != nil {
				t.Fatalf("run failed: %v", res.err)
			}
			srv.mu.Lock()
			uris := srv.uris
			srv.mu.Unlock()
			if len(uris) != 2 {
				t.Fatalf("requests = %q, want 2", uris)
			}
			// The query map comes after the url's query, sorted by name.
			want := []string{
				"/api/items/" + v.path + "/echo?q=" + v.query + "&a+b%26=" + v.query + "%21&k=" + v.query,
				"/api?fixed=1&q=" + v.query + "&k=" + v.query,
			}
			for i := range want {
				if uris[i] != want[i] {
					t.Errorf("request URI %d = %q, want %q", i, uris[i], want[i])
				}
			}
			u, err := url.ParseRequestURI(uris[0])
			if err != nil {
				t.Fatal(err)
			}
			segs := strings.Split(u.EscapedPath(), "/")
			if len(segs) != 5 || segs[1] != "api" || segs[2] != "items" || segs[4] != "echo" {
				t.Fatalf("path %q has the wrong segments", u.EscapedPath())
			}
			if got, _ := url.PathUnescape(segs[3]); got != v.value {
				t.Errorf("path segment decodes to %q, want %q", got, v.value)
			}
			wantQuery := url.Values{"q": {v.value}, "k": {v.value}, "a b&": {v.value + "!"}}
			if got := u.Query(); toJSON(got) != toJSON(wantQuery) {
				t.Errorf("query decodes to %v, want %v", got, wantQuery)
			}
		})
	}
}

func TestHTTPActivityQuery(t *testing.T) {
	tests := []struct {
		name      string
		config    designer.HTTPConfig
		wantType  string
		wantMsg   string
		retryable bool
		hidden    []string // texts the message must not hold
	}{
		{name: "a query template that fails at run time names its field",
			config:   designer.HTTPConfig{URL: "http://127.0.0.1:1/x", Query: map[string]string{"k": "{{ int('x') }}"}},
			wantType: ErrTypeTemplate, wantMsg: "field query.k:"},
		{name: "encoded secrets stay hidden",
			config: designer.HTTPConfig{URL: "http://127.0.0.1:1/{{ secrets.KEY }}/{{ input.v }}?a={{ secrets.KEY }}",
				Query: map[string]string{"k": "{{ secrets.KEY }}"}},
			wantType: ErrTypeHTTPTransport, wantMsg: "[secret]", retryable: true,
			hidden: append(urlpart.Forms("p@ss w/rd#"), "p@ss", "ss%20w")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			s.SetLogger(NewSDKLogger(quietLogger()))
			env := s.NewTestActivityEnvironment()
			registerActivities(env, &Deps{Secrets: memSecrets{"KEY": "p@ss w/rd#"}})
			_, err := env.ExecuteActivity(activityHTTP, httpRequest{RunID: "run-1", NodeID: "node", Config: tt.config,
				Scope: map[string]any{"input": map[string]any{"v": "x"}}})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) {
				t.Fatalf("error = %v, want an application error of type %s", err, tt.wantType)
			}
			if app.Type() != tt.wantType || app.NonRetryable() == tt.retryable || !strings.Contains(app.Message(), tt.wantMsg) {
				t.Errorf("error %s %q (non-retryable %v), want %s containing %q", app.Type(), app.Message(), app.NonRetryable(), tt.wantType, tt.wantMsg)
			}
			for _, h := range tt.hidden {
				if strings.Contains(err.Error(), h) {
					t.Errorf("message %q shows %q", err, h)
				}
			}
		})
	}
}
