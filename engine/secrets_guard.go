package engine

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"trellis/designer"
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
			if isURL && urlPartAt(before) == urlAuthority {
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

// secretForms are the encodings of a secret value that redaction hides: as written, lower
// and upper case, percent-encoded (path and query), base64 (standard and URL, padded or
// not), and hex.
func secretForms(v string) []string {
	forms := []string{v, strings.ToLower(v), strings.ToUpper(v), url.PathEscape(v), url.QueryEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v)))}
	forms = append(forms, urlForms(v)...)
	// Longest first, so a longer form is not half-replaced by a shorter one inside it.
	out := make([]string, 0, len(forms))
	seen := map[string]bool{}
	for _, f := range forms {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for i := 1; i < len(out); i++ {
		for k := i; k > 0 && len(out[k]) > len(out[k-1]); k-- {
			out[k], out[k-1] = out[k-1], out[k]
		}
	}
	return out
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
