package engine

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"trellis/designer"
	"trellis/internal/redaction"
)

const (
	// DefaultMaxResponseBytes caps an http node's response body unless Deps says otherwise.
	DefaultMaxResponseBytes = 1 << 20
	maxRedirects            = 5
	// maxRetryAfter caps how long a Retry-After header may push the next attempt.
	maxRetryAfter = 10 * time.Minute
)

var errTooManyRedirects = errors.New("stopped after 5 redirects")

type httpActivity struct {
	client   *http.Client
	secrets  SecretSource
	maxBytes int64
	log      *slog.Logger
}

func newHTTPActivity(d *Deps) *httpActivity {
	c := &http.Client{}
	if d.HTTPClient != nil {
		cp := *d.HTTPClient
		c = &cp
	}
	if d.Outbound != nil && c.Transport == nil {
		g, err := newOutboundGuard(*d.Outbound)
		if err != nil {
			// serve and worker check the policy first; fail closed if one got through.
			g, _ = newOutboundGuard(OutboundPolicy{})
		}
		c.Transport = g.transport()
	}
	maxBytes := d.MaxResponseBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	return &httpActivity{client: c, secrets: d.Secrets, maxBytes: maxBytes, log: log}
}

// clientFor is the client for one request: redirects are limited, and one to another origin
// loses its Referer and every header holding a secret (stripOnCrossOrigin); a client of
// Deps with its own CheckRedirect keeps it.
func (a *httpActivity) clientFor(redact func(string) string, bound map[string][]string) *http.Client {
	if a.client.CheckRedirect != nil {
		return a.client
	}
	c := *a.client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return errTooManyRedirects
		}
		// A secret bound to hosts follows no redirect off them (issue 18).
		if msg := secretHostRefusal(bound, req.URL.Hostname()); msg != "" {
			return &errSecretHostRedirect{msg: msg}
		}
		stripOnCrossOrigin(req, via, func(v string) bool { return redact(v) != v })
		return nil
	}
	return &c
}

// httpTemplateCache keeps compiled configs by content; compiling is pure.
var httpTemplateCache = newLRU[[32]byte, *httpTemplates](256)

func cachedHTTPTemplates(c designer.HTTPConfig) (*httpTemplates, string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, "config", err
	}
	key := sha256.Sum256(b)
	if t, ok := httpTemplateCache.get(key); ok {
		return t, "", nil
	}
	t, field, err := compileHTTP(c)
	if err != nil {
		return nil, field, err
	}
	httpTemplateCache.put(key, t)
	return t, "", nil
}

// run is the http activity: render, send, check, read.
func (a *httpActivity) run(ctx context.Context, req httpRequest) (activityResult[any], error) {
	t, field, err := cachedHTTPTemplates(req.Config)
	if err != nil {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeTemplate, false, "%s", fieldErr(field, err))
	}
	// Versions published before the rule: refuse here too, before any secret is read.
	if field, msg := HTTPSecretProblems(req.Config); msg != "" {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeTemplate, false, "field %s: %s", field, msg)
	}
	secrets, err := a.resolveSecrets(ctx, t.refs.Secrets)
	if err != nil {
		return activityResult[any]{}, err
	}
	bound, err := secretBindings(ctx, a.secrets, t.refs.Secrets)
	if err != nil {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeSecret, true, "%v", err)
	}
	redact := redaction.New(secrets)
	scope := maps.Clone(req.Scope)
	if scope == nil {
		scope = map[string]any{}
	}
	scope[designer.RootSecrets] = secrets

	httpReq, err := a.build(ctx, t, req, scope)
	if err != nil {
		return activityResult[any]{}, activityFailure(ctx, errType(err, ErrTypeTemplate), false, "%s", redact(err.Error()))
	}
	if msg := secretHostRefusal(bound, httpReq.URL.Hostname()); msg != "" {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeSecretHost, false, "%s; nothing was sent", msg)
	}
	resp, err := a.clientFor(redact, bound).Do(httpReq)
	if err != nil {
		if ctx.Err() != nil {
			return activityResult[any]{}, ctx.Err()
		}
		var sh *errSecretHostRedirect
		if errors.As(err, &sh) {
			return activityResult[any]{}, activityFailure(ctx, ErrTypeSecretHost, false, "%s", sh.msg)
		}
		if be, ok := asBlocked(err); ok {
			return activityResult[any]{}, activityFailure(ctx, ErrTypeHTTPBlocked, false,
				"%s %s: %s", httpReq.Method, redact(safeURL(httpReq.URL)), redact(be.Error()))
		}
		if errors.Is(err, errTooManyRedirects) {
			return activityResult[any]{}, activityFailure(ctx, ErrTypeTooManyRedirects, false,
				"%s %s: more than %d redirects", httpReq.Method, redact(safeURL(httpReq.URL)), maxRedirects)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return activityResult[any]{}, activityFailure(ctx, ErrTypeHTTPTransport, true,
			"%s %s: %s", httpReq.Method, redact(safeURL(httpReq.URL)), redact(err.Error()))
	}
	defer resp.Body.Close()
	a.log.DebugContext(ctx, "http node response", "run", req.RunID, "node", req.NodeID, "method", httpReq.Method,
		"url", redact(safeURL(httpReq.URL)), "status", resp.StatusCode, "attempt", activity.GetInfo(ctx).Attempt)

	if !statusExpected(resp.StatusCode, t.expect) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return activityResult[any]{}, statusFailure(ctx, resp, t.expect)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, a.maxBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return activityResult[any]{}, ctx.Err()
		}
		return activityResult[any]{}, activityFailure(ctx, ErrTypeHTTPTransport, true, "read response: %s", redact(err.Error()))
	}
	if int64(len(raw)) > a.maxBytes {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeResponseTooLarge, false,
			"response body is larger than the limit of %d bytes", a.maxBytes)
	}
	headers := make(map[string]any, len(resp.Header))
	for k, v := range resp.Header {
		if len(v) > 0 {
			headers[strings.ToLower(k)] = v[0]
		}
	}
	// A response echoing a secret (in any encoding) must not carry it into run state.
	out := map[string]any{"status": resp.StatusCode, "headers": redactValue(headers, redact),
		"body": redactValue(decodeBody(resp.Header.Get("Content-Type"), raw), redact)}
	return resultOf[any](ctx, out), nil
}

// typedError carries an error type through build.
type typedError struct {
	typ string
	err error
}

func (e *typedError) Error() string { return e.err.Error() }

func errType(err error, fallback string) string {
	var te *typedError
	if errors.As(err, &te) {
		return te.typ
	}
	return fallback
}

func (a *httpActivity) build(ctx context.Context, t *httpTemplates, req httpRequest, scope map[string]any) (*http.Request, error) {
	method, err := t.method.Render(scope)
	if err != nil {
		return nil, errors.New(fieldErr("method", err))
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" || strings.ContainsAny(method, " \t\r\n/()<>@,;:\\\"[]?={}") {
		return nil, &typedError{ErrTypeBadRequest, fmt.Errorf("field method: %q is not an HTTP method", method)}
	}
	rawURL, err := renderURL(t.url, scope)
	if err != nil {
		return nil, errors.New(fieldErr("url", err))
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &typedError{ErrTypeBadRequest, fmt.Errorf("field url: %q is not an http(s) URL", rawURL)}
	}
	if len(t.queryNames) > 0 {
		q := url.Values{}
		for i, name := range t.queryNames {
			v, err := t.query[i].Render(scope)
			if err != nil {
				return nil, errors.New(fieldErr("query."+name, err))
			}
			q.Set(name, v)
		}
		// Encode sorts by name; the url's own query comes first, as written.
		if u.RawQuery != "" && !strings.HasSuffix(u.RawQuery, "&") {
			u.RawQuery += "&"
		}
		u.RawQuery += q.Encode()
	}
	var body io.Reader
	contentType := ""
	if t.body != nil {
		v, err := t.body.eval(scope, t.bodyIsText)
		if err != nil {
			return nil, errors.New(fieldErr("body", err))
		}
		if s, ok := v.(string); ok && t.bodyIsText {
			body, contentType = strings.NewReader(s), "text/plain; charset=utf-8"
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("field body: %w", err)
			}
			body, contentType = strings.NewReader(string(b)), "application/json"
		}
	}
	httpReq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, &typedError{ErrTypeBadRequest, err}
	}
	for i, name := range t.headerNames {
		v, err := t.headers[i].Render(scope)
		if err != nil {
			return nil, errors.New(fieldErr("headers."+name, err))
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, &typedError{ErrTypeBadRequest, fmt.Errorf("field headers.%s: value holds a line break", name)}
		}
		httpReq.Header.Set(name, v)
	}
	if contentType != "" && httpReq.Header.Get("Content-Type") == "" {
		httpReq.Header.Set("Content-Type", contentType)
	}
	if httpReq.Header.Get("Idempotency-Key") == "" {
		httpReq.Header.Set("Idempotency-Key", req.RunID+"/"+req.NodeID)
	}
	return httpReq, nil
}

// resolveSecrets reads the secrets a config names; values stay inside this activity.
func (a *httpActivity) resolveSecrets(ctx context.Context, names []string) (map[string]any, error) {
	out := make(map[string]any, len(names))
	if len(names) == 0 {
		return out, nil
	}
	if a.secrets == nil {
		return nil, activityFailure(ctx, ErrTypeSecret, false, "no secret store is configured for secrets.%s", names[0])
	}
	for _, name := range names {
		v, err := a.secrets.Secret(ctx, name)
		if err != nil {
			notFound := errors.Is(err, ErrSecretNotFound)
			if notFound {
				return nil, activityFailure(ctx, ErrTypeSecret, false, "secret %q is not set", name)
			}
			return nil, activityFailure(ctx, ErrTypeSecret, true, "read secret %q: %v", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// safeURL drops the query and credentials, which often carry keys.
func safeURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}

func statusExpected(code int, expect []statusRange) bool {
	for _, r := range expect {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// statusFailure is retryable for 5xx, 408 and 429 and honours Retry-After (in seconds).
func statusFailure(ctx context.Context, resp *http.Response, expect []statusRange) error {
	code := resp.StatusCode
	retryable := code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
	want := make([]string, len(expect))
	for i, r := range expect {
		want[i] = r.String()
	}
	msg := fmt.Sprintf("unexpected HTTP status %d %s (expected %s)", code, http.StatusText(code), strings.Join(want, ", "))
	opts := temporal.ApplicationErrorOptions{NonRetryable: !retryable,
		Details: []any{newAttemptDetail(ctx, ErrTypeHTTPStatus, msg, retryable)}}
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 && retryable {
		opts.NextRetryDelay = min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	return temporal.NewApplicationErrorWithOptions(msg, ErrTypeHTTPStatus, opts)
}

// decodeBody parses JSON responses; anything else is kept as text.
func decodeBody(contentType string, raw []byte) any {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		if len(raw) == 0 {
			return nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err == nil {
			return v
		}
	}
	return string(raw)
}
