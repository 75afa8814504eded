package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Error types. Retryable ones may succeed when tried again later.
const (
	TypeRateLimited    = "RateLimited"    // 429; retryable
	TypeServerError    = "ServerError"    // 5xx, Anthropic's 529 overloaded; retryable
	TypeTimeout        = "Timeout"        // no answer within the timeout, or 408; retryable
	TypeUnreachable    = "Unreachable"    // connection refused, DNS, TLS, reset; retryable
	TypeAuth           = "Unauthorized"   // 401
	TypeForbidden      = "Forbidden"      // 403
	TypeNotFound       = "NotFound"       // 404: unknown model or wrong base URL
	TypeBadRequest     = "BadRequest"     // other 4xx, or a request that cannot be sent
	TypeBadResponse    = "BadResponse"    // a 2xx answer that is not the protocol's shape
	TypeRefused        = "Refused"        // the model declined to answer
	TypeSchemaMismatch = "SchemaMismatch" // the answer did not fit the schema after the retries
	TypeInvalidSchema  = "InvalidSchema"  // the request's json_schema is not usable
)

// Error is a classified failure. Message is safe to show and log: it never holds the API
// key, and names the status and what to do where that helps.
type Error struct {
	Status     int // HTTP status, 0 when there was no HTTP answer
	Type       string
	Message    string
	Retryable  bool
	RetryAfter time.Duration // what the provider asked for (Retry-After), 0 if nothing
}

func (e *Error) Error() string { return e.Message }

// maxProviderMessage bounds how much of a provider's error text reaches our messages.
const maxProviderMessage = 500

// statusError classifies a non-2xx answer. body is the start of the response body; model is
// the requested model, for 404s.
func statusError(resp *http.Response, body []byte, model string, now time.Time) *Error {
	code := resp.StatusCode
	detail, isProviderError := providerMessage(body)
	withDetail := func(s string) string {
		if detail != "" {
			return s + ": " + detail
		}
		return s
	}
	e := &Error{Status: code}
	switch {
	case code == http.StatusTooManyRequests:
		e.Type, e.Retryable = TypeRateLimited, true
		e.Message = withDetail("rate limited by the provider (429)")
	case code == http.StatusRequestTimeout:
		e.Type, e.Retryable = TypeTimeout, true
		e.Message = withDetail("the provider timed out the request (408)")
	case code >= 500:
		e.Type, e.Retryable = TypeServerError, true
		e.Message = withDetail(fmt.Sprintf("the provider failed (%d%s)", code, statusText(code)))
	case code == http.StatusUnauthorized:
		e.Type = TypeAuth
		e.Message = withDetail("the provider refused the API key (401)")
	case code == http.StatusForbidden:
		e.Type = TypeForbidden
		e.Message = withDetail("the provider denied access (403)")
	case code == http.StatusNotFound && isProviderError:
		e.Type = TypeNotFound
		e.Message = withDetail(fmt.Sprintf("unknown model %q (404)", model))
	case code == http.StatusNotFound:
		e.Type = TypeNotFound
		e.Message = fmt.Sprintf("the provider has no endpoint at %s (404): check the base URL", resp.Request.URL.Path)
	default:
		e.Type = TypeBadRequest
		e.Message = withDetail(fmt.Sprintf("the provider rejected the request (%d%s)", code, statusText(code)))
	}
	if e.Retryable {
		e.RetryAfter = retryAfter(resp.Header, now)
		if e.RetryAfter > 0 {
			e.Message += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
		}
	}
	return e
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return " " + t
	}
	if code == 529 {
		return " Overloaded" // Anthropic's
	}
	return ""
}

// providerMessage finds the human message in an error body. Both protocols (and Ollama,
// vLLM, llama.cpp) use {"error": {"message": …, "type": …}}; some servers put message at
// the top level or make error a string. ok reports whether the body is such an error.
func providerMessage(body []byte) (msg string, ok bool) {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", false
	}
	var inner struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	var s string
	switch {
	case json.Unmarshal(v.Error, &inner) == nil && inner.Message != "":
		msg = inner.Message
	case json.Unmarshal(v.Error, &s) == nil && s != "":
		msg = s
	case v.Message != "":
		msg = v.Message
	default:
		return "", false
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxProviderMessage {
		msg = msg[:maxProviderMessage] + "…"
	}
	return msg, true
}

// retryAfter reads retry-after-ms (OpenAI) or Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if ms, err := strconv.ParseFloat(strings.TrimSpace(h.Get("Retry-After-Ms")), 64); err == nil && ms > 0 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// transportError classifies a failure to get an answer at all. All of these are
// retryable: the provider may be back, or less busy, on the next attempt.
func transportError(err error, target string, timeout time.Duration) *Error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &Error{Type: TypeTimeout, Retryable: true,
			Message: fmt.Sprintf("the provider at %s did not answer within %s", target, timeout)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &Error{Type: TypeUnreachable, Retryable: true,
		Message: fmt.Sprintf("cannot reach the provider at %s: %v", target, err)}
}

// safeURLString drops credentials, query and fragment, which often carry keys.
func safeURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}

var wordPattern = regexp.MustCompile(`\S+`)

// redact hides the API key in s. Providers echo keys in error messages, sometimes only in
// part ("Incorrect API key provided: sk-abc…wxyz"), so any word sharing 8 characters in a
// row with a long key goes too.
func redact(s, key string) string {
	if key == "" || s == "" {
		return s
	}
	s = strings.ReplaceAll(s, key, "[redacted]")
	const window = 8
	if len(key) < 12 {
		return s
	}
	return wordPattern.ReplaceAllStringFunc(s, func(w string) string {
		if len(w) < window {
			return w
		}
		for i := 0; i+window <= len(key); i++ {
			if strings.Contains(w, key[i:i+window]) {
				return "[redacted]"
			}
		}
		return w
	})
}
