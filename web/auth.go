package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

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
	// sessionKey holds the session token identify accepted, which CSRF tokens are bound to.
	sessionKey = "trellis.session"
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

// isAPI reports whether the request is for the JSON API, or the MCP server that signs in
// the same way (a bearer token; 401 rather than a redirect to the sign-in page).
func isAPI(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == "/api/v1" || strings.HasPrefix(p, "/api/v1/") || p == "/mcp"
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
	c.Set(sessionKey, ck.Value)
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

// csrfMiddleware checks the CSRF token on state-changing requests: the form field _csrf or the
// header X-CSRF-Token must equal the trellis_csrf cookie, and that token must be bound to the
// request's session (csrfBinds), so a cookie planted by another site or a sibling domain, sent
// with the same form value, is refused. Safe requests get a fresh token when theirs is missing
// or bound to another session. Bearer-token API requests are exempt: they carry no ambient
// authority.
func (s *Server) csrfMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Get(bearerKey) != nil {
				return next(c)
			}
			session, _ := c.Get(sessionKey).(string)
			token := ""
			if ck, err := c.Cookie(CSRFCookie); err == nil {
				token = ck.Value
			}
			valid := csrfBinds(token, session)
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				if !valid {
					token = s.issueCSRF(c, session)
				}
				c.Set(csrfKey, token)
				return next(c)
			}
			// A browser that says the request came from another site is refused outright.
			if c.Request().Header.Get(echo.HeaderSecFetchSite) == "cross-site" {
				return errForbidden(msgCSRF)
			}
			sent := c.Request().Header.Get(CSRFHeader)
			if sent == "" {
				sent = c.FormValue(CSRFField)
			}
			if !valid || subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
				return errForbidden(msgCSRF)
			}
			c.Set(csrfKey, token)
			return next(c)
		}
	}
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

// newCSRFToken makes a token bound to session: a random nonce and an HMAC of it keyed by the
// session token, which only the browser holding the session (an HttpOnly cookie) and the
// server know. Without a session the MAC binds nothing, and the token is a plain double-submit
// token, as good as a form before sign-in can have.
func newCSRFToken(session string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	return nonce + "." + csrfMAC(session, nonce)
}

func csrfMAC(session, nonce string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("trellis-csrf\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfBinds reports whether token was made by newCSRFToken for session.
func csrfBinds(token, session string) bool {
	nonce, mac, ok := strings.Cut(token, ".")
	if !ok || nonce == "" || len(token) > 128 {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(csrfMAC(session, nonce)))
}

// issueCSRF sets a fresh CSRF cookie bound to session and returns its token.
func (s *Server) issueCSRF(c echo.Context, session string) string {
	token := newCSRFToken(session)
	c.SetCookie(&http.Cookie{
		Name: CSRFCookie, Value: token, Path: "/", MaxAge: int((7 * 24 * time.Hour).Seconds()),
		Secure: s.cfg.SecureCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	c.Set(csrfKey, token)
	return token
}

// rotateCSRF gives the browser a fresh CSRF token bound to its new session, so one planted
// before sign-in is useless.
func (s *Server) rotateCSRF(c echo.Context, session string) {
	s.issueCSRF(c, session)
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
