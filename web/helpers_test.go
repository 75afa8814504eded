package web

// Test helpers shared by every test of package web, including later features' tests: a real
// server on httptest with a real store, a settable clock, captured logs, and an HTTP client with
// a cookie jar that knows how to sign in and send CSRF tokens.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/store"
	"trellis/store/storetest"
)

// testPassword is the password of every user made by testApp.user.
const testPassword = "correct-horse-battery"

// testClock is a settable clock shared by the store and the server.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testApp is a running server with its store.
type testApp struct {
	tb     testing.TB
	Server *Server
	URL    string
	DB     *store.DB
	Clock  *testClock
	Logs   *syncBuffer
}

// appSetup is what options of newTestApp may change before the server is built.
type appSetup struct {
	Config Config
	Deps   Deps
	Routes []Route // extra routes, mounted after the routes table with the same middleware
}

type appOption func(*appSetup)

// withRoutes mounts extra routes (test handlers) through the real middleware chain.
func withRoutes(routes ...Route) appOption {
	return func(s *appSetup) { s.Routes = append(s.Routes, routes...) }
}

// withSetup changes the config or the dependencies, e.g. to add Deps fields of later features.
func withSetup(f func(*appSetup)) appOption { return f }

// newTestApp starts the server on httptest with a fresh store in tb.TempDir().
func newTestApp(tb testing.TB, opts ...appOption) *testApp {
	tb.Helper()
	clock := newTestClock()
	db := storetest.MustOpenWith(tb, store.Options{Now: clock.Now})
	logs := &syncBuffer{}
	setup := appSetup{
		Config: Config{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		Deps:   Deps{Users: db, Health: db.Ping},
	}
	for _, o := range opts {
		o(&setup)
	}
	srv := newServer(setup.Config, setup.Deps, setup.Routes)
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	return &testApp{tb: tb, Server: srv, URL: ts.URL, DB: db, Clock: clock, Logs: logs}
}

// user creates a user with testPassword and roles (none when empty).
func (a *testApp) user(name string, roles ...string) *store.User {
	a.tb.Helper()
	u, _, err := a.DB.UpsertUser(context.Background(), store.UserInput{Name: name, Password: testPassword, Roles: roles})
	if err != nil {
		a.tb.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// token creates an API token for the user name.
func (a *testApp) token(name string) string {
	a.tb.Helper()
	tok, err := a.DB.CreateToken(context.Background(), name, "test")
	if err != nil {
		a.tb.Fatalf("create token for %s: %v", name, err)
	}
	return tok
}

// client returns an anonymous browser-like client that does not follow redirects.
func (a *testApp) client() *testClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		a.tb.Fatal(err)
	}
	return &testClient{tb: a.tb, app: a, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signedIn creates the user (if roles are given or it does not exist) and returns a client
// signed in as them.
func (a *testApp) signedIn(name string, roles ...string) *testClient {
	a.tb.Helper()
	if _, err := a.DB.UserByName(context.Background(), name); err != nil || len(roles) > 0 {
		a.user(name, roles...)
	}
	c := a.client()
	c.login(name, testPassword)
	return c
}

type testClient struct {
	tb  testing.TB
	app *testApp
	hc  *http.Client
}

// testResponse is a response with its body read.
type testResponse struct {
	*http.Response
	Body string
}

// JSON decodes the body into a generic value.
func (r *testResponse) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		tb.Fatalf("%s %s: body is not a JSON object: %v\n%s", r.Request.Method, r.Request.URL.Path, err, r.Body)
	}
	return v
}

// do sends req (a path relative to the server is fine) and reads the answer.
func (c *testClient) do(req *http.Request) *testResponse {
	c.tb.Helper()
	if req.URL.Host == "" {
		u, err := url.Parse(c.app.URL + req.URL.String())
		if err != nil {
			c.tb.Fatal(err)
		}
		req.URL = u
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return &testResponse{Response: resp, Body: string(b)}
}

// request builds a request; headers come as name, value pairs.
func (c *testClient) request(method, path string, body io.Reader, headers ...string) *http.Request {
	c.tb.Helper()
	req, err := http.NewRequest(method, c.app.URL+path, body)
	if err != nil {
		c.tb.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

func (c *testClient) get(path string, headers ...string) *testResponse {
	c.tb.Helper()
	return c.do(c.request(http.MethodGet, path, nil, headers...))
}

// cookie returns the value of the named cookie for the server ("" when unset).
func (c *testClient) cookie(name string) string {
	u, _ := url.Parse(c.app.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts a cookie into the jar, e.g. a session token taken from another client.
func (c *testClient) setCookie(name, value string) {
	u, _ := url.Parse(c.app.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// csrfToken returns the client's CSRF token, fetching the sign-in page first when it has none.
func (c *testClient) csrfToken() string {
	c.tb.Helper()
	if t := c.cookie(CSRFCookie); t != "" {
		return t
	}
	if r := c.get("/login"); r.StatusCode != http.StatusOK && r.StatusCode != http.StatusSeeOther {
		c.tb.Fatalf("GET /login: %d", r.StatusCode)
	}
	t := c.cookie(CSRFCookie)
	if t == "" {
		c.tb.Fatal("no CSRF cookie after GET /login")
	}
	return t
}

// postForm posts form with the CSRF token added.
func (c *testClient) postForm(path string, form url.Values, headers ...string) *testResponse {
	c.tb.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set(CSRFField, c.csrfToken())
	return c.postFormRaw(path, f, headers...)
}

// postFormRaw posts form exactly as given (no CSRF token unless form has one).
func (c *testClient) postFormRaw(path string, form url.Values, headers ...string) *testResponse {
	c.tb.Helper()
	req := c.request(http.MethodPost, path, strings.NewReader(form.Encode()), headers...)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// sendJSON sends body as JSON with the given method; headers as name, value pairs.
func (c *testClient) sendJSON(method, path string, body any, headers ...string) *testResponse {
	c.tb.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.tb.Fatal(err)
	}
	req := c.request(method, path, bytes.NewReader(b), headers...)
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

// login signs in and fails the test unless it worked.
func (c *testClient) login(name, password string) {
	c.tb.Helper()
	r := c.postForm("/login", url.Values{"name": {name}, "password": {password}})
	if r.StatusCode != http.StatusSeeOther || c.cookie(SessionCookie) == "" {
		c.tb.Fatalf("sign in as %s: status %d, want 303 and a session cookie\n%s", name, r.StatusCode, r.Body)
	}
}

// wantStatus fails the test unless r has status want.
func wantStatus(tb testing.TB, r *testResponse, want int) {
	tb.Helper()
	if r.StatusCode != want {
		tb.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.Body)
	}
}

// wantAPIError checks the JSON error envelope {"error": {"code", "message", "problems"}}.
func wantAPIError(tb testing.TB, r *testResponse, status int, code string) {
	tb.Helper()
	wantStatus(tb, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("%s: Content-Type %q, want JSON", r.Request.URL.Path, ct)
	}
	var env struct {
		Error *struct {
			Code     *string         `json:"code"`
			Message  *string         `json:"message"`
			Problems json.RawMessage `json:"problems"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &env); err != nil || env.Error == nil || env.Error.Code == nil || env.Error.Message == nil || env.Error.Problems == nil {
		tb.Fatalf("%s: body is not an error envelope: %s", r.Request.URL.Path, r.Body)
	}
	if *env.Error.Code != code {
		tb.Fatalf("%s: error code %q, want %q (%s)", r.Request.URL.Path, *env.Error.Code, code, r.Body)
	}
	if *env.Error.Message == "" {
		tb.Fatalf("%s: empty error message", r.Request.URL.Path)
	}
}
