package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// Messages of the sign-in form. An unknown user and a wrong password read the same, so the
// form does not tell which user names exist.
const (
	msgBadLogin     = "Wrong user name or password."
	msgLoginLimited = "Too many failed attempts for this user name. Wait 15 minutes and try again."
	msgIPLimited    = "Too many failed sign-ins from your address. Wait 15 minutes and try again."
	msgLoginBusy    = "Too many sign-ins at once. Wait a few seconds and try again."
	devLoginHint    = "Development server: the demo accounts are printed in the terminal that started Trellis."
)

func (s *Server) renderLogin(c echo.Context, status int, p templates.LoginProps) error {
	if s.cfg.Dev {
		p.Hint = devLoginHint
	}
	return Render(c, status, templates.Page{Title: "Sign in", Narrow: true, Body: templates.Login(p)})
}

// loginShow shows the sign-in form, or sends a signed-in user on to next.
func (s *Server) loginShow(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if CurrentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	if next == "/" {
		next = ""
	}
	return s.renderLogin(c, http.StatusOK, templates.LoginProps{Next: next})
}

// loginSubmit checks the credentials, starts a new session and redirects to next.
func (s *Server) loginSubmit(c echo.Context) error {
	name := strings.ToLower(strings.TrimSpace(c.FormValue("name")))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	props := templates.LoginProps{Name: name}
	if next != "/" {
		props.Next = next
	}

	ip := c.RealIP()
	key := name + "\x00" + ip
	if !s.logins.allowedIP(ip) || !s.logins.allowed(key) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(loginWindow.Seconds())))
		props.Error = msgLoginLimited
		if !s.logins.allowedIP(ip) {
			props.Error = msgIPLimited
		}
		return s.renderLogin(c, http.StatusTooManyRequests, props)
	}
	ctx := c.Request().Context()
	if !s.loginSlots.acquire(ctx, loginQueueWait) {
		c.Response().Header().Set("Retry-After", "5")
		props.Error = msgLoginBusy
		return s.renderLogin(c, http.StatusTooManyRequests, props)
	}
	u, err := s.deps.Users.Authenticate(ctx, name, password)
	s.loginSlots.release()
	if errors.Is(err, store.ErrBadCredentials) {
		s.logins.failIP(key, ip)
		s.log.Info("sign-in failed", slog.String("user", name), slog.String("ip", c.RealIP()))
		props.Error = msgBadLogin
		return s.renderLogin(c, http.StatusUnauthorized, props)
	}
	if err != nil {
		return err
	}
	s.logins.reset(key)

	// A new session every time, so a session id known before sign-in is worthless after it.
	if old, err := c.Cookie(SessionCookie); err == nil && old.Value != "" {
		if err := s.deps.Users.DeleteSession(ctx, old.Value); err != nil {
			return err
		}
	}
	token, err := s.deps.Users.CreateSession(ctx, u.ID, s.cfg.SessionTTL)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	s.rotateCSRF(c, token)
	s.log.Info("signed in", slog.String("user", u.Name))
	return c.Redirect(http.StatusSeeOther, next)
}
