package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/engine"
	"trellis/static"
	"trellis/store"
)

func TestSecurityHeaders(t *testing.T) {
	app := newTestApp(t)
	c := app.signedIn("alice", store.RoleAnalyst)
	want := map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	for _, path := range []string{"/", "/login", "/healthz", "/api/v1/healthz", "/nope", "/api/v1/nope", static.URL("css/app.css")} {
		r := c.get(path)
		for h, v := range want {
			if got := r.Header.Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", path, h, got, v)
			}
		}
	}
	if !strings.Contains(contentSecurityPolicy, "default-src 'self'") || strings.Contains(contentSecurityPolicy, "unsafe-inline") {
		t.Errorf("CSP is not strict: %s", contentSecurityPolicy)
	}
	if got := c.get("/").Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("pages: Cache-Control = %q, want no-store", got)
	}
}

func TestNotFound(t *testing.T) {
	app := newTestApp(t)
	anon := app.client()

	page := anon.get("/no/such/page")
	wantStatus(t, page, http.StatusNotFound)
	for _, want := range []string{`data-testid="error-page"`, "Page not found", "<title>Page not found · Trellis</title>", `<main id="main"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("404 page lacks %q", want)
		}
	}
	// Signed in, the 404 page still has the header with the user and a working sign-out form.
	c := app.signedIn("alice", store.RoleAnalyst)
	body := c.get("/no/such/page").Body
	if !strings.Contains(body, `data-testid="user-name">alice<`) || !strings.Contains(body, `name="_csrf" value="`+c.csrfToken()+`"`) {
		t.Errorf("signed-in 404 page lacks user or CSRF token:\n%s", body)
	}

	api := anon.get("/api/v1/no/such/thing")
	wantAPIError(t, api, http.StatusNotFound, "not_found")
	if api.Body != `{"error":{"code":"not_found","message":"`+defaultMessage(http.StatusNotFound)+`","problems":[]}}`+"\n" {
		t.Errorf("JSON 404 = %s", api.Body)
	}
	wantAPIError(t, c.sendJSON(http.MethodPost, "/api/v1/healthz", nil), http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestErrorMapping(t *testing.T) {
	failWith := func(err error) echo.HandlerFunc { return func(echo.Context) error { return err } }
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"not found", fmt.Errorf("load graph: %w", store.ErrNotFound), 404, "not_found", "Load graph: not found"},
		{"conflict", store.ErrConflict, 409, "conflict", "Conflict"},
		{"invalid", store.ErrInvalid, 422, "invalid", "Invalid"},
		{"bad credentials", store.ErrBadCredentials, 401, "unauthorized", "Wrong user name or password"},
		{"app error", NewError(http.StatusUnprocessableEntity, "The graph has problems.").WithProblems([]Problem{{Node: "a", Message: "no edges"}}), 422, "invalid", "The graph has problems."},
		{"forbidden", fmt.Errorf("claim task 3: %w", store.ErrForbidden), 403, "forbidden", "Claim task 3: forbidden."},
		{"refused action", &actions.Error{Kind: actions.Conflict, Message: "Version 2 is retired."}, 409, "conflict", "Version 2 is retired."},
		{"refused with problems", &actions.Error{Kind: actions.Invalid, Message: "The input does not fit.",
			Input: []designer.FieldError{{Path: "/amount", Message: "amount is required"}}}, 422, "invalid", "The input does not fit."},
		{"unknown run", fmt.Errorf("run r-1: %w", engine.ErrRunNotFound), 404, "not_found", "There is no such run."},
		{"ended run", fmt.Errorf("cancel run r-1: %w", engine.ErrRunClosed), 409, "conflict", "The run has already ended."},
		{"echo error", echo.NewHTTPError(http.StatusBadRequest, "parse: secret detail"), 400, "bad_request", defaultMessage(400)},
		{"internal", errors.New("sql: secret detail"), 500, "internal", defaultMessage(500)},
	}
	var routes []Route
	for i, tt := range tests {
		routes = append(routes,
			Route{Method: http.MethodGet, Path: fmt.Sprintf("/api/v1/fail/%d", i), Handler: failWith(tt.err)},
			Route{Method: http.MethodGet, Path: fmt.Sprintf("/fail/%d", i), Handler: failWith(tt.err)})
	}
	app := newTestApp(t, withRoutes(routes...))
	c := app.signedIn("alice", store.RoleAnalyst)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := c.get(fmt.Sprintf("/api/v1/fail/%d", i))
			wantAPIError(t, api, tt.status, tt.code)
			e := api.JSON(t)["error"].(map[string]any)
			if e["message"] != tt.msg {
				t.Errorf("message = %q, want %q", e["message"], tt.msg)
			}
			page := c.get(fmt.Sprintf("/fail/%d", i))
			wantStatus(t, page, tt.status)
			if strings.Contains(page.Body, "secret detail") || strings.Contains(api.Body, "secret detail") {
				t.Error("internal detail shown to the user")
			}
		})
	}
	// Problems pass through as given.
	r := c.get("/api/v1/fail/4")
	if !strings.Contains(r.Body, `"problems":[{"node":"a","message":"no edges"}]`) {
		t.Errorf("problems = %s", r.Body)
	}
	// A refused action's problems are the error's problems.
	if r := c.get("/api/v1/fail/7"); !strings.Contains(r.Body, `"problems":[{"path":"/amount","message":"amount is required"}]`) {
		t.Errorf("problems of a refused action = %s", r.Body)
	}
}

func TestPanicBecomes500(t *testing.T) {
	boom := func(echo.Context) error { panic("secret internal detail") }
	app := newTestApp(t, withRoutes(
		Route{Method: http.MethodGet, Path: "/boom", Handler: boom},
		Route{Method: http.MethodGet, Path: "/api/v1/boom", Handler: boom},
	))
	c := app.signedIn("alice", store.RoleAnalyst)
	page := c.get("/boom")
	wantStatus(t, page, http.StatusInternalServerError)
	if !strings.Contains(page.Body, `data-testid="error-page"`) {
		t.Fatalf("500 is not the error page:\n%s", page.Body)
	}
	for _, leak := range []string{"secret internal detail", "goroutine", ".go:"} {
		if strings.Contains(page.Body, leak) {
			t.Errorf("500 page shows %q", leak)
		}
	}
	if id := page.Header.Get("X-Request-Id"); id == "" || !strings.Contains(page.Body, id) {
		t.Errorf("500 page does not quote the request id %q", id)
	}
	wantAPIError(t, c.get("/api/v1/boom"), http.StatusInternalServerError, "internal")

	logs := app.Logs.String()
	for _, want := range []string{"panic in handler", "secret internal detail", "goroutine", "status=500"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	echoJSON := func(c echo.Context) error {
		var v map[string]any
		if err := DecodeJSON(c, &v); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
	app := newTestApp(t, withRoutes(Route{Method: http.MethodPost, Path: "/api/v1/echo", MaxBody: 1024, Handler: echoJSON}))
	app.user("alice", store.RoleAnalyst)
	token := app.token("alice")
	c := app.client()
	big := `{"x":"` + strings.Repeat("a", 2048) + `"}`
	post := func(body io.Reader, length int64) *testResponse {
		req := c.request(http.MethodPost, "/api/v1/echo", body, "Authorization", "Bearer "+token, "Content-Type", "application/json")
		req.ContentLength = length
		return c.do(req)
	}

	wantStatus(t, post(strings.NewReader(`{"x":1}`), 7), http.StatusOK)
	wantAPIError(t, post(strings.NewReader(big), int64(len(big))), http.StatusRequestEntityTooLarge, "too_large")
	// Without Content-Length the limit applies while reading.
	wantAPIError(t, post(io.MultiReader(strings.NewReader(big)), -1), http.StatusRequestEntityTooLarge, "too_large")
	wantAPIError(t, post(strings.NewReader(`{"x":`), -1), http.StatusBadRequest, "bad_request")

	// A page form over its limit is a 413 page.
	form := url.Values{"name": {strings.Repeat("a", 70<<10)}, "password": {"x"}}
	r := c.postForm("/login", form)
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	if !strings.Contains(r.Body, `data-testid="error-page"`) {
		t.Errorf("413 is not the error page:\n%s", r.Body)
	}
}

func TestHealthz(t *testing.T) {
	var healthErr error
	app := newTestApp(t, withSetup(func(s *appSetup) {
		s.Deps.Health = func(ctx context.Context) error { return healthErr }
	}))
	c := app.client()
	for _, path := range []string{"/healthz", "/api/v1/healthz"} {
		healthErr = nil
		r := c.get(path)
		wantStatus(t, r, http.StatusOK)
		if r.Body != `{"status":"ok"}`+"\n" {
			t.Errorf("%s = %s", path, r.Body)
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s sets a cookie", path)
		}
		healthErr = errors.New("temporal unreachable")
		r = c.get(path)
		wantStatus(t, r, http.StatusServiceUnavailable)
		if r.Body != `{"status":"unavailable","error":"temporal unreachable"}`+"\n" {
			t.Errorf("%s = %s", path, r.Body)
		}
	}
	// Nil Health means healthy.
	nilApp := newTestApp(t, withSetup(func(s *appSetup) { s.Deps.Health = nil }))
	wantStatus(t, nilApp.client().get("/healthz"), http.StatusOK)
}

func TestStaticFiles(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	css := c.get(static.URL("css/app.css"))
	wantStatus(t, css, http.StatusOK)
	if ct := css.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := css.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if css.Header.Get("Set-Cookie") != "" {
		t.Error("a static file sets a cookie")
	}
	old := c.get("/static/0123456789ab/css/app.css")
	wantStatus(t, old, http.StatusOK)
	if cc := old.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("old version: Cache-Control = %q", cc)
	}
	for _, path := range []string{"css/nope.css", "css", "css/", "../embed.go", "embed.go"} {
		wantStatus(t, c.get(static.Prefix()+"/"+path), http.StatusNotFound)
	}
	if !strings.Contains(c.get("/login").Body, static.URL("css/app.css")) {
		t.Error("pages do not link the versioned stylesheet")
	}
}

func TestRenderFragmentForHTMX(t *testing.T) {
	app := newTestApp(t)
	c := app.signedIn("alice", store.RoleAnalyst)
	full := c.get("/")
	frag := c.get("/", "HX-Request", "true")
	boosted := c.get("/", "HX-Request", "true", "HX-Boosted", "true")
	for _, r := range []*testResponse{full, frag, boosted} {
		wantStatus(t, r, http.StatusOK)
		if vary := strings.Join(r.Header.Values("Vary"), ", "); !strings.Contains(vary, "HX-Request") {
			t.Errorf("Vary = %q, want HX-Request", vary)
		}
		if !strings.Contains(r.Body, "Welcome, alice") {
			t.Errorf("body lacks the page content:\n%s", r.Body)
		}
	}
	if !strings.HasPrefix(full.Body, "<!doctype html>") || !strings.HasPrefix(boosted.Body, "<!doctype html>") {
		t.Error("a full page does not start with the doctype")
	}
	if strings.Contains(frag.Body, "<html") || strings.Contains(frag.Body, "site-header") {
		t.Errorf("the htmx fragment has the layout:\n%s", frag.Body)
	}
}

func TestRequestLogOmitsQuery(t *testing.T) {
	app := newTestApp(t)
	app.signedIn("alice", store.RoleAnalyst).get("/?token=secret-query-value")
	logs := app.Logs.String()
	if strings.Contains(logs, "secret-query-value") || strings.Contains(logs, testPassword) {
		t.Fatalf("log holds a query string or password:\n%s", logs)
	}
	if !strings.Contains(logs, "method=GET path=/ status=200") || !strings.Contains(logs, "user=alice") {
		t.Fatalf("log lacks the request line:\n%s", logs)
	}
}
