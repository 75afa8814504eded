package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"trellis/store"
	"trellis/templates"
)

// Cookie and form names.
const (
	SessionCookie = "trellis_session"
	CSRFCookie    = "trellis_csrf"
	CSRFField     = "_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// msgCSRF explains a refused CSRF check.
const msgCSRF = "This form has expired or did not come from Trellis. Reload the page and try again."

// Keys of values kept on the echo.Context.
const (
	userKey       = "trellis.user"
	viewerKey     = "trellis.viewer"
	identifiedKey = "trellis.identified"
	bearerKey     = "trellis.bearer"
	csrfKey       = "csrf"
)

// CurrentUser returns the signed-in user of the request, or nil.
func CurrentUser(c echo.Context) *store.User {
	u, _ := c.Get(userKey).(*store.User)
	return u
}

// viewer returns the templates' view of the signed-in user, or nil.
func viewer(c echo.Context) *templates.Viewer {
	v, _ := c.Get(viewerKey).(*templates.Viewer)
	return v
}

// isAPI reports whether the request is for the JSON API.
func isAPI(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == "/api/v1" || strings.HasPrefix(p, "/api/v1/")
}

// identify finds the user of the request: a bearer token under /api/v1 (the cookie is then
// ignored), otherwise the session cookie. An unknown token is 401 under /api/v1; an unknown or
// expired session cookie is dropped and the request goes on anonymously.
func (s *Server) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.identifyUser(c); err != nil {
			return err
		}
		return next(c)
	}
}

func (s *Server) identifyUser(c echo.Context) error {
	if c.Get(identifiedKey) != nil {
		return nil
	}
	c.Set(identifiedKey, true)
	if s.deps.Users == nil {
		return nil
	}
	ctx := c.Request().Context()
	if auth := c.Request().Header.Get(echo.HeaderAuthorization); auth != "" && isAPI(c) {
		c.Set(bearerKey, true)
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			return errUnauthorized("Use the header Authorization: Bearer TOKEN.")
		}
		u, err := s.deps.Users.TokenUser(ctx, strings.TrimSpace(token))
		if errors.Is(err, store.ErrNotFound) {
			return errUnauthorized("The API token is unknown or revoked.")
		}
		if err != nil {
			return err
		}
		s.setUser(c, u)
		return nil
	}
	ck, err := c.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	u, err := s.deps.Users.SessionUser(ctx, ck.Value)
	if errors.Is(err, store.ErrNotFound) {
		s.clearSessionCookie(c)
		return nil
	}
	if err != nil {
		return err
	}
	s.setUser(c, u)
	return nil
}

func (s *Server) setUser(c echo.Context, u *store.User) {
	c.Set(userKey, u)
	c.Set(viewerKey, &templates.Viewer{
		ID:     u.ID,
		Name:   u.Name,
		Roles:  u.Roles,
		Groups: u.Groups,
		Nav:    s.navFor(u),
	})
}

// navItems are the sections of the main navigation, in order. A link shows only when its GET
// route exists and the user's roles allow it, so the menu follows the routes table.
var navItems = []templates.NavLink{
	{Label: "Graphs", Href: "/graphs", TestID: "nav-graphs", Description: "Draw workflow graphs, publish versions and start runs."},
	{Label: "Inbox", Href: "/inbox", TestID: "nav-inbox", Description: "Decide the approvals and other steps waiting for you."},
	{Label: "Runs", Href: "/runs", TestID: "nav-runs", Description: "Follow runs, their timelines and their results."},
	{Label: "Admin", Href: "/admin/users", TestID: "nav-admin", Description: "Add people and give them roles and groups."},
}

func (s *Server) navFor(u *store.User) []templates.NavLink {
	var out []templates.NavLink
	for _, l := range navItems {
		if r, ok := s.byKey[http.MethodGet+" "+l.Href]; ok && r.allows(u) {
			out = append(out, l)
		}
	}
	return out
}

// requireRoles refuses anonymous requests (redirect to /login, or 401 under /api/v1) and users
// with none of roles (403). Empty roles admit any signed-in user.
func (s *Server) requireRoles(roles []string) echo.MiddlewareFunc {
	check := Route{Roles: roles}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := CurrentUser(c)
			if u == nil {
				return s.signInFirst(c)
			}
			if !check.allows(u) {
				return errForbidden("Your account does not have the role needed for this.")
			}
			return next(c)
		}
	}
}

// signInFirst answers an anonymous request for a signed-in route.
func (s *Server) signInFirst(c echo.Context) error {
	if isAPI(c) {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="trellis"`)
		return errUnauthorized("Sign in or send an API token.")
	}
	req := c.Request()
	target := "/login"
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		target = loginURL(req.URL.RequestURI())
	}
	if isHTMX(c) {
		// A redirect would be followed by the XMLHttpRequest and swapped in as a fragment.
		c.Response().Header().Set("HX-Redirect", target)
		return errUnauthorized("Sign in first.")
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// loginURL is /login with next set to a local path worth coming back to.
func loginURL(next string) string {
	next = safeNext(next)
	if next == "/" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(next)
}

// safeNext returns next when it is a path on this site, and "/" otherwise, so that a crafted
// link cannot send a user elsewhere after signing in.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	// "//host" and "/\host" are read by browsers as another host.
	if strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return next
}

// csrfMiddleware checks the CSRF token (form field _csrf or header X-CSRF-Token against the
// trellis_csrf cookie) on state-changing requests. Bearer-token API requests are exempt: they
// carry no ambient authority.
func (s *Server) csrfMiddleware() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        func(c echo.Context) bool { return c.Get(bearerKey) != nil },
		TokenLookup:    "header:" + CSRFHeader + ",form:" + CSRFField,
		ContextKey:     csrfKey,
		CookieName:     CSRFCookie,
		CookiePath:     "/",
		CookieMaxAge:   int((7 * 24 * time.Hour).Seconds()),
		CookieSecure:   s.cfg.SecureCookies,
		CookieHTTPOnly: true,
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return errForbidden(msgCSRF)
		},
	})
}

// csrfToken is the token to put into forms: the one the CSRF middleware chose, or, on pages
// that did not pass through it (404s), the cookie it set earlier.
func csrfToken(c echo.Context) string {
	if t, ok := c.Get(csrfKey).(string); ok && t != "" {
		return t
	}
	if ck, err := c.Cookie(CSRFCookie); err == nil {
		return ck.Value
	}
	return ""
}

// rotateCSRF gives the browser a fresh CSRF token, so one planted before sign-in is useless.
func (s *Server) rotateCSRF(c echo.Context) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{
		Name: CSRFCookie, Value: token, Path: "/", MaxAge: int((7 * 24 * time.Hour).Seconds()),
		Secure: s.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	c.Set(csrfKey, token)
}

func (s *Server) setSessionCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", MaxAge: int(s.cfg.SessionTTL.Seconds()),
		Secure: s.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: s.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}
