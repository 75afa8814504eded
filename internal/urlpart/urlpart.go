// Package urlpart percent-encodes a value for the part of a URL it lands in, so that a
// template value can never change a URL's shape. It imports only the standard library:
// the redactor (internal/redaction) needs its forms, and its fuzz test builds in seconds.
package urlpart

import (
	"net/url"
	"strings"
)

// Part is the part of a URL a value lands in.
type Part int

const (
	Authority Part = iota
	Path
	Query
	Fragment
)

// Escape percent-encodes a value for the part of a URL it lands in.
func Escape(s string, part Part) string {
	switch part {
	case Authority:
		// Sub-delimiters, ":" (port, user:password) and "[ ]" (IPv6) stay; "/", "?", "#"
		// and "@" would end or split the authority.
		return percentEncode(s, "!$&'()*+,;=:[]")
	case Path:
		return url.PathEscape(s)
	case Query:
		return url.QueryEscape(s)
	default:
		return percentEncode(s, "!$&'()*+,;=:@/?")
	}
}

// percentEncode encodes every byte of s but unreserved characters (RFC 3986) and keep.
func percentEncode(s, keep string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 ||
			strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Forms are the ways a value can appear in a rendered URL, for redaction.
func Forms(s string) []string {
	return []string{url.PathEscape(s), url.QueryEscape(s), Escape(s, Authority), Escape(s, Fragment)}
}
