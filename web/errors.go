package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// Error is an application error whose Message is safe to show to the user. Handlers return it
// (or a store sentinel error, which is mapped to one) and the single error handler renders it as
// an HTML page, or under /api/v1 as {"error": {"code", "message", "problems"}}.
type Error struct {
	Code     string    // machine-readable: "not_found", "invalid", …
	Status   int       // HTTP status
	Message  string    // one sentence, safe to show
	Problems []Problem // optional details; JSON "problems"
	Err      error     // internal cause, logged and never shown
}

// Problem is one entry of an error's problems: where (a graph's node, edge, field and
// column, or a JSON Pointer path into an input or a decision's data) and what.
type Problem struct {
	Node    string `json:"node,omitempty"`
	Edge    *int   `json:"edge,omitempty"`
	Field   string `json:"field,omitempty"`
	Path    string `json:"path,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// Text is the problem as a line of text: where, then what.
func (p Problem) Text() string {
	text := actions.ProblemText(designer.Problem{Node: p.Node, Edge: p.Edge, Field: p.Field, Column: p.Column, Message: p.Message})
	if p.Path != "" {
		text = p.Path + ": " + text
	}
	return text
}

// graphProblems, fieldProblems and decisionProblems are the designer's problem lists as
// problems of an error.
func graphProblems(ps []designer.Problem) []Problem {
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		out = append(out, Problem{Node: p.Node, Edge: p.Edge, Field: p.Field, Column: p.Column, Message: p.Message})
	}
	return out
}

func fieldProblems(ps []designer.FieldError) []Problem {
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		out = append(out, Problem{Path: p.Path, Message: p.Message})
	}
	return out
}

func decisionProblems(ps []designer.DecisionProblem) []Problem {
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		out = append(out, Problem{Field: p.Field, Path: p.Path, Message: p.Message})
	}
	return out
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// NewError returns an Error with the code that goes with status.
func NewError(status int, message string) *Error {
	return &Error{Code: codeFor(status), Status: status, Message: message}
}

// WithProblems returns a copy of e carrying problems.
func (e *Error) WithProblems(problems []Problem) *Error {
	c := *e
	c.Problems = problems
	return &c
}

func errUnauthorized(msg string) *Error { return NewError(http.StatusUnauthorized, msg) }
func errForbidden(msg string) *Error    { return NewError(http.StatusForbidden, msg) }

// codeFor names the error codes of the API.
func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

// defaultMessage is what the user reads when nothing more specific is known.
func defaultMessage(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "The request could not be understood."
	case http.StatusUnauthorized:
		return "Sign in first."
	case http.StatusForbidden:
		return "You are not allowed to do this."
	case http.StatusNotFound:
		return "There is nothing at this address. It may have moved, or the link may be mistyped."
	case http.StatusMethodNotAllowed:
		return "This address does not accept that kind of request."
	case http.StatusConflict:
		return "Someone else changed this first. Reload and try again."
	case http.StatusRequestEntityTooLarge:
		return "The request is too large."
	case http.StatusUnsupportedMediaType:
		return "Send JSON with Content-Type: application/json."
	case http.StatusUnprocessableEntity:
		return "The request is not valid."
	case http.StatusTooManyRequests:
		return "Too many requests. Wait a little and try again."
	case http.StatusServiceUnavailable:
		return "Trellis cannot reach a service it needs. Try again in a moment."
	}
	return "Something went wrong on our side. It has been logged; please try again."
}

// pageTitles head the HTML error pages.
func pageTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusUnauthorized:
		return "Sign in first"
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return "Bad request"
	case http.StatusRequestEntityTooLarge:
		return "Too large"
	case http.StatusConflict:
		return "Changed by someone else"
	case http.StatusUnprocessableEntity:
		return "Not valid"
	case http.StatusTooManyRequests:
		return "Too many requests"
	case http.StatusServiceUnavailable:
		return "Unavailable"
	}
	return "Something went wrong"
}

// AsError maps any error to an *Error; it is the one place where the store's, the engine's
// and the actions' errors get an HTTP status: an *Error as it is; a refused action by its
// kind, with its problems; store sentinels to 404, 409, 422, 401 and 403 with their (safe)
// message; the engine's run errors (see runError); echo's HTTP errors by status; a body over
// its limit to 413; anything else to a 500 whose cause is kept only for the log.
func AsError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var re *actions.Error
	if errors.As(err, &re) {
		e := NewError(actionStatus[re.Kind], re.Message)
		if e.Status == 0 {
			e = NewError(http.StatusInternalServerError, defaultMessage(http.StatusInternalServerError))
		}
		switch {
		case re.Graph != nil:
			e.Problems = graphProblems(re.Graph)
		case re.Input != nil:
			e.Problems = fieldProblems(re.Input)
		case re.Decision != nil:
			e.Problems = decisionProblems(re.Decision)
		}
		e.Err = err
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return NewError(http.StatusRequestEntityTooLarge, "The request is too large.")
	}
	for _, m := range []struct {
		sentinel error
		status   int
	}{
		{store.ErrNotFound, http.StatusNotFound},
		{store.ErrConflict, http.StatusConflict},
		{store.ErrInvalid, http.StatusUnprocessableEntity},
		{store.ErrBadCredentials, http.StatusUnauthorized},
		{store.ErrForbidden, http.StatusForbidden},
	} {
		if errors.Is(err, m.sentinel) {
			// The store promises that these messages are safe to show.
			e := NewError(m.status, sentence(err.Error()))
			if m.status == http.StatusForbidden {
				e.Message += "."
			}
			return e
		}
	}
	if e := engineError(err, ""); e != nil {
		return e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		// echo's messages may quote internals (parser errors), so say something of our own.
		e := NewError(he.Code, defaultMessage(he.Code))
		e.Err = err
		return e
	}
	e := NewError(http.StatusInternalServerError, defaultMessage(http.StatusInternalServerError))
	e.Err = err
	return e
}

// actionStatus is the status of each kind of refused action.
var actionStatus = map[actions.Kind]int{
	actions.Invalid:     http.StatusUnprocessableEntity,
	actions.Conflict:    http.StatusConflict,
	actions.Forbidden:   http.StatusForbidden,
	actions.NotFound:    http.StatusNotFound,
	actions.Unavailable: http.StatusServiceUnavailable,
	actions.BadRequest:  http.StatusBadRequest,
	actions.TooLarge:    http.StatusRequestEntityTooLarge,
	actions.TooMany:     http.StatusTooManyRequests,
}

// runError is AsError for an error about run runID, whose messages name the run.
func runError(runID string, err error) error {
	if err == nil {
		return nil
	}
	if e := engineError(err, runID); e != nil {
		return e
	}
	return fmt.Errorf("run %s: %w", runID, err)
}

// engineError maps the engine's sentinel errors (about run runID, "" for one unnamed), or
// returns nil for any other error.
func engineError(err error, runID string) *Error {
	notFound, ended := "There is no such run.", "The run has already ended."
	if runID != "" {
		notFound, ended = fmt.Sprintf("There is no run %s.", runID), fmt.Sprintf("Run %s has already ended.", runID)
	}
	var e *Error
	switch {
	case errors.Is(err, engine.ErrRunNotFound):
		e = NewError(http.StatusNotFound, notFound)
	case errors.Is(err, engine.ErrRunClosed):
		e = NewError(http.StatusConflict, ended)
	case errors.Is(err, engine.ErrBadFilter):
		e = NewError(http.StatusBadRequest, "These filters cannot be used; check the graph, version and status.")
	default:
		return nil
	}
	e.Err = err
	return e
}

// sentence capitalises the first letter of msg.
func sentence(msg string) string {
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	return string(unicode.ToUpper(r)) + msg[n:]
}

type errorEnvelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Problems []Problem `json:"problems"`
}

// handleError is echo's HTTPErrorHandler: the one place errors become responses.
func (s *Server) handleError(err error, c echo.Context) {
	e := AsError(err)
	if e.Status >= 500 && !errors.Is(err, context.Canceled) {
		s.log.Error("request failed",
			slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path),
			slog.String("request_id", requestID(c)),
			slog.Any("error", err))
	}
	if c.Response().Committed {
		return
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		// The rest of an oversized body is not worth reading.
		c.Response().Header().Set(echo.HeaderConnection, "close")
	}
	if isAPI(c) {
		problems := e.Problems
		if problems == nil {
			problems = []Problem{}
		}
		if rerr := c.JSON(e.Status, errorEnvelope{Error: errorBody{Code: e.Code, Message: e.Message, Problems: problems}}); rerr != nil {
			s.log.Warn("write error response", slog.Any("error", rerr))
		}
		return
	}
	// Error pages for unmatched routes did not pass through identify; show the header anyway.
	if c.Get(identifiedKey) == nil {
		_ = s.identifyUser(c)
	}
	msg := e.Message
	if e.Status >= 500 {
		msg += " Reference: " + requestID(c) + "."
	}
	page := templates.Page{
		Title: pageTitle(e.Status),
		Body:  templates.ErrorBody(templates.ErrorProps{Status: e.Status, Title: pageTitle(e.Status), Message: msg}),
	}
	if rerr := Render(c, e.Status, page); rerr != nil {
		s.log.Warn("render error page", slog.Any("error", rerr))
		_ = c.String(e.Status, msg)
	}
}
