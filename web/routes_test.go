package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// concretePath fills the parameters of an echo route path with placeholder values.
func concretePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		switch {
		case strings.HasPrefix(s, ":"):
			parts[i] = "1"
		case s == "*":
			parts[i] = "x"
		}
	}
	return strings.Join(parts, "/")
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// send makes the request a route expects: a form for pages, JSON under /api/v1.
func send(c *testClient, r Route, csrf string, headers ...string) *testResponse {
	path := concretePath(r.Path)
	if strings.HasPrefix(r.Path, "/api/v1/") {
		if csrf != "" {
			headers = append(headers, CSRFHeader, csrf)
		}
		if isSafeMethod(r.Method) {
			return c.do(c.request(r.Method, path, nil, headers...))
		}
		return c.sendJSON(r.Method, path, map[string]any{}, headers...)
	}
	if isSafeMethod(r.Method) {
		return c.do(c.request(r.Method, path, nil, headers...))
	}
	form := url.Values{}
	if csrf != "" {
		form.Set(CSRFField, csrf)
	}
	return c.postFormRaw(path, form, headers...)
}

// TestPublicRoutes pins the routes that need no sign-in, so a new row cannot become public by
// accident.
func TestPublicRoutes(t *testing.T) {
	app := newTestApp(t)
	want := []string{"GET /api/v1/healthz", "GET /healthz", "GET /login", "GET /static/:version/*", "POST /hooks/:hook", "POST /login"}
	var got []string
	for _, r := range app.Server.Routes() {
		if r.Public || r.Bare {
			got = append(got, r.Method+" "+r.Path)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("public routes = %v, want %v", got, want)
	}
}

// TestRoutesRefuseAnonymous: every signed-in route redirects a page visitor to /login and
// answers 401 JSON under /api/v1 and on the MCP server.
func TestRoutesRefuseAnonymous(t *testing.T) {
	app := newTestApp(t)
	for _, r := range app.Server.Routes() {
		if r.Public || r.Bare {
			continue
		}
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			c := app.client()
			resp := send(c, r, c.csrfToken())
			if strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/mcp" {
				wantAPIError(t, resp, http.StatusUnauthorized, "unauthorized")
				return
			}
			wantStatus(t, resp, http.StatusSeeOther)
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
				t.Fatalf("Location = %q, want /login…", loc)
			}
		})
	}
}

// TestRoutesRefuseMissingRole: a user holding every role except the ones a route asks for gets
// 403, by cookie and (under /api/v1) by bearer token.
func TestRoutesRefuseMissingRole(t *testing.T) {
	app := newTestApp(t)
	for _, r := range app.Server.Routes() {
		if r.Public || r.Bare || len(r.Roles) == 0 {
			continue
		}
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			var others []string
			for _, role := range store.Roles {
				if role != store.RoleAdmin && !slices.Contains(r.Roles, role) {
					others = append(others, role)
				}
			}
			name := "lacks-" + strings.Join(others, "-")
			c := app.signedIn(name, others...)
			resp := send(c, r, c.csrfToken())
			if strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/mcp" {
				wantAPIError(t, resp, http.StatusForbidden, "forbidden")
				bearer := app.client()
				wantAPIError(t, send(bearer, r, "", "Authorization", "Bearer "+app.token(name)), http.StatusForbidden, "forbidden")
				return
			}
			wantStatus(t, resp, http.StatusForbidden)
			if !strings.Contains(resp.Body, `data-testid="error-page"`) {
				t.Fatalf("403 is not the error page:\n%s", resp.Body)
			}
		})
	}
}

// TestRoutesRequireCSRF: every state-changing route refuses a cookie-authenticated request
// without the CSRF token (403) and lets it through with the token.
func TestRoutesRequireCSRF(t *testing.T) {
	app := newTestApp(t)
	for _, r := range app.Server.Routes() {
		if isSafeMethod(r.Method) || r.Bare {
			continue
		}
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			c := app.signedIn("root", store.RoleAdmin)
			without := send(c, r, "")
			wantStatus(t, without, http.StatusForbidden)
			if !strings.Contains(without.Body, msgCSRF) {
				t.Fatalf("refusal does not explain the CSRF failure:\n%s", without.Body)
			}
			wrong := send(c, r, "not-the-token")
			wantStatus(t, wrong, http.StatusForbidden)

			with := send(c, r, c.csrfToken())
			// POST /login with no credentials is a 401 of its own; nothing else may refuse.
			if with.StatusCode == http.StatusForbidden || (with.StatusCode == http.StatusUnauthorized && !r.Public) ||
				strings.Contains(with.Body, msgCSRF) {
				t.Fatalf("with the CSRF token: status %d\n%s", with.StatusCode, with.Body)
			}
		})
	}
}

// TestCrossSitePostRefused: a browser that says the form came from another site is refused
// even with a valid token pair.
func TestCrossSitePostRefused(t *testing.T) {
	app := newTestApp(t)
	c := app.signedIn("root", store.RoleAdmin)
	resp := c.postForm("/logout", nil, "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, http.StatusForbidden)
	wantStatus(t, c.get("/"), http.StatusOK) // still signed in
}

// TestNavFollowsRoutes: the menu shows a section only when its route exists and allows the user.
func TestNavFollowsRoutes(t *testing.T) {
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "section") }
	app := newTestApp(t, withRoutes(
		Route{Method: http.MethodGet, Path: "/graphs", Roles: []string{store.RoleAnalyst}, Handler: ok},
		Route{Method: http.MethodGet, Path: "/inbox", Roles: []string{store.RoleReviewer}, Handler: ok},
		Route{Method: http.MethodGet, Path: "/runs", Roles: []string{store.RoleAnalyst, store.RoleDeveloper}, Handler: ok},
	))
	tests := []struct {
		name  string
		roles []string
		want  []string
	}{
		{"analyst", []string{store.RoleAnalyst}, []string{"nav-graphs", "nav-runs"}},
		{"reviewer", []string{store.RoleReviewer}, []string{"nav-inbox"}},
		{"developer", []string{store.RoleDeveloper}, []string{"nav-runs"}},
		{"admin", []string{store.RoleAdmin}, []string{"nav-graphs", "nav-inbox", "nav-runs", "nav-admin"}},
		{"nobody", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := app.signedIn(tt.name, tt.roles...).get("/").Body
			for _, id := range []string{"nav-graphs", "nav-inbox", "nav-runs", "nav-admin"} {
				has := strings.Contains(body, `data-testid="`+id+`"`)
				if has != slices.Contains(tt.want, id) {
					t.Errorf("%s: link %s shown = %v, want %v", tt.name, id, has, !has)
				}
			}
		})
	}
}
