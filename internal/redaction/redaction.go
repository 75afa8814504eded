// Package redaction hides secret values in text that may reach run history, pages or logs. It
// imports only the standard library and internal/urlpart, so that its fuzz test
// (FuzzRedactor) builds in seconds where, in engine, it built the whole Temporal server.
package redaction

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"

	"trellis/internal/urlpart"
)

// New returns a function that hides the secrets' values in text, in every encoding forms
// knows, case-insensitively. Values shorter than 4 bytes are hidden only as written: hiding
// every "a" in every form would say more than it hides. Values that are not strings are
// ignored.
func New(secrets map[string]any) func(string) string {
	var all, exact []string
	for _, v := range secrets {
		sv, ok := v.(string)
		switch {
		case !ok || sv == "":
		case len(sv) < 4:
			exact = append(exact, sv)
		default:
			all = append(all, forms(sv)...)
		}
	}
	return func(s string) string {
		for _, f := range all {
			s = replaceFold(s, f, "[secret]")
		}
		for _, f := range exact {
			s = strings.ReplaceAll(s, f, "[secret]")
		}
		return s
	}
}

// forms are the encodings of a secret value that redaction hides: as written, lower and
// upper case, percent-encoded (path, query and the other URL parts), base64 (standard and
// URL, padded or not), and hex.
func forms(v string) []string {
	fs := []string{v, strings.ToLower(v), strings.ToUpper(v), url.PathEscape(v), url.QueryEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v)))}
	fs = append(fs, urlpart.Forms(v)...)
	// Longest first, so a longer form is not half-replaced by a shorter one inside it.
	out := make([]string, 0, len(fs))
	seen := map[string]bool{}
	for _, f := range fs {
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

// replaceFold replaces old in s case-insensitively for ASCII (a secret echoed in another
// case is still the secret). Only ASCII letters are folded, so lengths never change and a
// non-ASCII letter elsewhere in s (İ lowers to three bytes) cannot turn folding off: the
// redactor fuzz test found "İ" before a secret in mixed case keeping it whole.
func replaceFold(s, old, repl string) string {
	ls, lo := asciiLower(s), asciiLower(old)
	if !strings.Contains(ls, lo) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(ls, lo)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, ls = s[i+len(old):], ls[i+len(old):]
	}
}

// asciiLower lowers ASCII letters only, byte for byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
