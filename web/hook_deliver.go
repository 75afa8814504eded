package web

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/actions"
)

// Webhook delivery limits: the body is a run input; each hook takes hookRate deliveries a
// second on average, in bursts of hookBurst, so one noisy sender cannot flood Temporal.
const (
	hookBodyLimit = actions.MaxRunInputBytes
	hookRate      = 20
	hookBurst     = 100
	hookLimiters  = 10000
)

// hookLimiter holds one token bucket per hook; its memory is bounded by forgetting all
// buckets when full (they refill in seconds anyway).
type hookLimiter struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newHookLimiter() *hookLimiter { return &hookLimiter{now: time.Now, m: map[string]*bucket{}} }

func (l *hookLimiter) allow(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.m[id]
	if !ok {
		if len(l.m) >= hookLimiters {
			clear(l.m)
		}
		b = &bucket{tokens: hookBurst, at: now}
		l.m[id] = b
	}
	b.tokens = min(hookBurst, b.tokens+now.Sub(b.at).Seconds()*hookRate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type hookDeliverResponse struct {
	RunID string `json:"run_id"`
}

// hookDeliver answers POST /hooks/{id}: a delivery signed with the hook's secret (or
// carrying it as a bearer token) starts a run with the JSON body as input. 202 {run_id};
// 401 for a wrong signature, saying nothing of the expected one; 404 for an unknown or
// disabled hook; 413 over the limit; 422 with the input's problems; 429 over the rate.
func (s *Server) hookDeliver(lim *hookLimiter) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("hook")
		if !lim.allow(id) {
			c.Response().Header().Set("Retry-After", "1")
			return hookError(c, NewError(http.StatusTooManyRequests, "Too many deliveries to this hook; try again in a second."))
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return hookError(c, NewError(http.StatusRequestEntityTooLarge, "The body is over the limit of a run input (256 KiB)."))
			}
			return hookError(c, NewError(http.StatusBadRequest, "The body could not be read."))
		}
		h := c.Request().Header
		t := s.triggers()
		done, err := t.Deliver(c.Request().Context(), actions.Delivery{HookID: id, Body: body,
			Signature: h.Get("X-Trellis-Signature"), Authorization: h.Get(echo.HeaderAuthorization), IdempotencyKey: h.Get("Idempotency-Key")})
		var e *Error
		switch {
		case errors.Is(err, actions.ErrHookAuth):
			e = NewError(http.StatusUnauthorized, "The delivery is not authenticated.")
		case err != nil:
			e = AsError(err)
		}
		if e != nil {
			var ae *actions.Error
			if !(errors.As(err, &ae) && ae.Kind == actions.NotFound) {
				t.RecordDelivery(c.Request().Context(), id, e.Status, "", e.Message)
			}
			if e.Status >= 500 {
				s.log.Error("hook delivery failed", "hook", id, "error", err)
			}
			return hookError(c, e)
		}
		if !done.Replayed {
			t.RecordDelivery(c.Request().Context(), id, http.StatusAccepted, done.RunID, "")
		}
		return c.JSON(http.StatusAccepted, hookDeliverResponse{RunID: done.RunID})
	}
}

// hookError answers a delivery in the API's error shape: senders are programs, wherever
// the path is.
func hookError(c echo.Context, e *Error) error {
	problems := e.Problems
	if problems == nil {
		problems = []Problem{}
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		c.Response().Header().Set(echo.HeaderConnection, "close")
	}
	return c.JSON(e.Status, errorEnvelope{Error: errorBody{Code: e.Code, Message: e.Message, Problems: problems}})
}
