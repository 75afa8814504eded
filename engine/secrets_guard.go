package engine

import (
	"fmt"
	"regexp"
	"strings"

	"trellis/designer"
	"trellis/internal/urlpart"
)

// Secrets may only be interpolated whole (issue 18: {{ int(lower(secrets.S1)) }} put the
// lowered value into an error message, past a redaction that matched only the exact value;
// a comparison such as secrets.S == "a…" would be an oracle). A template span that mentions
// secrets must be exactly secrets.NAME; and no secret may be in a url's host, where it would
// leave by DNS before any request is made.

var (
	secretsWord = regexp.MustCompile(`(^|[^A-Za-z0-9_.$])secrets\b`)
	wholeSecret = regexp.MustCompile(`^secrets(\.[A-Za-z_][A-Za-z0-9_]*|\[\s*("[^"\\]*"|'[^'\\]*')\s*\])$`)
)

// SecretMisuse says what is wrong with how the template src uses secrets, or "" when
// nothing is. isURL adds the rule for the url's host.
func SecretMisuse(src string, isURL bool) string {
	rest, before := src, ""
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return ""
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return ""
		}
		before += rest[:i]
		expr := strings.TrimSpace(rest[i+2 : i+2+j])
		if secretsWord.MatchString(expr) {
			if !wholeSecret.MatchString(expr) {
				return fmt.Sprintf("{{ %s }} transforms or tests a secret: a secret may only be interpolated whole, as {{ secrets.NAME }}", expr)
			}
			if isURL && urlPartAt(before) == urlpart.Authority {
				return fmt.Sprintf("{{ %s }} puts a secret into the url's host, which leaves by DNS before any request: put it in a header, the path or the query", expr)
			}
		}
		before += "{{" + rest[i+2:i+2+j] + "}}"
		rest = rest[i+2+j+2:]
	}
}

// HTTPSecretProblems checks an http node's config: url, headers, query and the strings of
// its body.
func HTTPSecretProblems(c designer.HTTPConfig) (field, msg string) {
	if m := SecretMisuse(c.URL, true); m != "" {
		return "config.url", m
	}
	if m := SecretMisuse(c.Method, false); m != "" {
		return "config.method", m
	}
	for name, v := range c.Headers {
		if m := SecretMisuse(v, false); m != "" {
			return "config.headers." + name, m
		}
	}
	for name, v := range c.Query {
		if m := SecretMisuse(v, false); m != "" {
			return "config.query." + name, m
		}
	}
	if m := SecretMisuse(string(c.Body), false); m != "" {
		return "config.body", m
	}
	return "", ""
}

// redactValue hides secrets in every string of a decoded JSON value (a response's body and
// headers), keys included, before it reaches run state, history, pages and logs.
func redactValue(v any, redact func(string) string) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[redact(k)] = redactValue(e, redact)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, redact)
		}
		return out
	}
	return v
}
