package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

const requestIDKey = "trellis.request_id"

// requestID is the short random id of the request, in logs, the X-Request-Id header and on 500
// pages so that a user can quote it.
func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// logRequests gives the request an id and logs one line when it ends: method, path (never the
// query string, which may hold tokens), status, duration and user. It runs the error handler
// itself so that the logged status is the one sent.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		c.Set(requestIDKey, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)

		if err := next(c); err != nil {
			c.Error(err)
		}

		status := c.Response().Status
		attrs := []slog.Attr{
			slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.Int64("bytes", c.Response().Size),
			slog.String("request_id", id),
		}
		if u := CurrentUser(c); u != nil {
			attrs = append(attrs, slog.String("user", u.Name))
		}
		if run := routeRunID(c); run != "" {
			attrs = append(attrs, slog.String("run_id", run))
		}
		s.observeLatency(c, time.Since(start))
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 (rendered by the error handler, with no
// internals) and logs the panic with its stack.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.log.Error("panic in handler",
				slog.String("path", c.Request().URL.Path),
				slog.String("request_id", requestID(c)),
				slog.Any("panic", r),
				slog.String("stack", string(debug.Stack())))
			e := NewError(http.StatusInternalServerError, defaultMessage(http.StatusInternalServerError))
			e.Err = fmt.Errorf("panic: %v", r)
			err = e
		}()
		return next(c)
	}
}

// contentSecurityPolicy allows only this site's own files: no inline scripts or styles, no
// framing, forms only to this site.
const contentSecurityPolicy = "default-src 'self'; base-uri 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; object-src 'none'; img-src 'self' data:"

// secureHeaders sets the security headers of every response. Responses are not cached unless
// a handler says otherwise (static files do).
func (s *Server) secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		h.Set(echo.HeaderCacheControl, "no-store")
		if s.cfg.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// limitBody refuses bodies over limit bytes with 413: at once when Content-Length says so,
// otherwise when reading passes the limit. Forms are parsed here so that an oversized form is
// a 413 rather than an empty form.
func limitBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", limit))
			}
			if req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
			var err error
			switch mt {
			case echo.MIMEApplicationForm:
				err = req.ParseForm()
			case echo.MIMEMultipartForm:
				err = req.ParseMultipartForm(limit)
			}
			if err != nil {
				if e := AsError(err); e.Status == http.StatusRequestEntityTooLarge {
					return e
				}
				return NewError(http.StatusBadRequest, "The form could not be read.")
			}
			return next(c)
		}
	}
}

// streamDeadlines lets server-sent event streams outlive the server's WriteTimeout: before each
// write or flush of a text/event-stream response the connection's write deadline moves to
// WriteTimeout from now, so a stream lives as long as its reader keeps up, while any other
// response, and a stalled reader of a stream, is still cut by the timeout.
func (s *Server) streamDeadlines(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		w := c.Response().Writer
		c.Response().Writer = &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: s.cfg.WriteTimeout}
		return next(c)
	}
}

type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) extend() {
	if w.d > 0 && strings.HasPrefix(w.Header().Get(echo.HeaderContentType), "text/event-stream") {
		// ErrNotSupported (a test recorder) leaves the deadline as it is.
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	}
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(b)
}

// FlushError flushes through the ResponseController, which echo.Response.Flush uses.
func (w *deadlineWriter) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

// Unwrap gives http.ResponseController the writer below.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
