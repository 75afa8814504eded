package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"trellis/templates"
)

// isHTMX reports whether the request wants a fragment: an htmx request that is neither a boosted
// navigation nor a history restore (those need the whole page).
func isHTMX(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" &&
		h.Get("HX-History-Restore-Request") != "true"
}

// Render writes a page with status: only p.Body for an htmx request, the whole layout otherwise.
// The templates find the current user and the CSRF token in the context.
func Render(c echo.Context, status int, p templates.Page) error {
	c.Response().Header().Add(echo.HeaderVary, "HX-Request")
	if isHTMX(c) {
		return write(c, status, p.Body)
	}
	return write(c, status, templates.Layout(p))
}

// RenderFragment writes only comp, for htmx targets that are not a whole page body.
func RenderFragment(c echo.Context, status int, comp templ.Component) error {
	c.Response().Header().Add(echo.HeaderVary, "HX-Request")
	return write(c, status, comp)
}

// write renders into a buffer first, so a failing template becomes a clean 500 page rather
// than half a page.
func write(c echo.Context, status int, comp templ.Component) error {
	if comp == nil {
		return c.NoContent(status)
	}
	var buf bytes.Buffer
	if err := comp.Render(templateContext(c), &buf); err != nil {
		return fmt.Errorf("render %s: %w", c.Request().URL.Path, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// templateContext is the request context plus what components may read from it.
func templateContext(c echo.Context) context.Context {
	ctx := templates.WithViewer(c.Request().Context(), viewer(c))
	return templates.WithCSRF(ctx, csrfToken(c))
}

// DecodeJSON reads the request body as JSON into v: 413 when it is over the route's limit, 400
// when it is not one well-formed JSON value, 415 when it says it is something else.
func DecodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return NewError(http.StatusUnsupportedMediaType, defaultMessage(http.StatusUnsupportedMediaType))
	}
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit))
		}
		e := NewError(http.StatusBadRequest, "The request body is not valid JSON: "+jsonProblem(err)+".")
		e.Err = err
		return e
	}
	if dec.More() {
		return NewError(http.StatusBadRequest, "The request body holds more than one JSON value.")
	}
	return nil
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("%s cannot be a JSON %s", typ.Field, typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("the body cannot be a JSON %s", typ.Value)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ends too early"
	}
	return "it cannot be read"
}
