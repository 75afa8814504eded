package redaction

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// FuzzRedactor: a secret echoed in any form redaction knows (as written, either case,
// percent-encoded, base64, hex), between any text, never comes out of redact, whatever else
// the text holds (issue 18: redaction that matched only the exact value let a lowered secret
// into an error).
func FuzzRedactor(f *testing.F) {
	for _, s := range [][3]string{{"sk-live-0123", "error: ", " rejected"}, {"hunter2-very-secret", "", ""},
		{"AbCdEf", "İ", "ß"}, {"p@ss w/rd?&", "q=", "&x=1"}, {"abab", "ab", "ab"}, {"ÄÖÜ-key", "\xff", "ǅ"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, secret, before, after string) {
		if len(secret) < 4 || strings.ContainsAny(secret, "[]") || strings.Contains("[secret]", strings.ToLower(secret)) {
			return // short secrets are hidden only as written; the mark itself is not a leak
		}
		redact := New(map[string]any{"S": secret})
		b := []byte(secret)
		for _, form := range []string{secret, strings.ToLower(secret), strings.ToUpper(secret), swapASCIICase(secret), url.QueryEscape(secret),
			url.PathEscape(secret), base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b), hex.EncodeToString(b)} {
			out := redact(before + form + after)
			if strings.Contains(out, form) && !strings.Contains(before+after, form) {
				t.Fatalf("secret %q as %q survived redaction: %q", secret, form, out)
			}
			if strings.Contains(out, secret) {
				t.Fatalf("secret %q survived redaction of %q: %q", secret, before+form+after, out)
			}
		}
	})
}

// swapASCIICase is s with its ASCII letters' case swapped: a case no single form lists.
func swapASCIICase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}
