package engine

import (
	"net/url"
	"strings"

	"trellis/designer"
)

// urlPart is the part of a URL a template value lands in.
type urlPart int

const (
	urlAuthority urlPart = iota
	urlPath
	urlQuery
	urlFragment
)

// renderURL renders an http node's url so that a value can never change the URL's shape,
// as URI templates do. An expression at the very start of the url (nothing but blanks
// before it) is written as it is, since it may be a base URL such as
// https://api.example.com/v1. Every other value is percent-encoded for the part it lands
// in, judged from the text before it: in the path as one segment ("/" becomes %2F), in the
// query as a key or value ("&", "=", "#" and "+" are encoded, a space becomes "+"), in
// the host or fragment so that it cannot end that part.
func renderURL(t *designer.Template, scope map[string]any) (string, error) {
	var b strings.Builder
	first := true
	err := t.RenderParts(scope, func(s string, expr bool) {
		switch {
		case !expr:
			b.WriteString(s)
		case first && strings.TrimSpace(b.String()) == "":
			b.WriteString(s)
		default:
			b.WriteString(escapeURLValue(s, urlPartAt(b.String())))
		}
		if expr {
			first = false
		}
	})
	return b.String(), err
}

// urlPartAt tells where text appended to prefix lands. Escaped values hold none of the
// characters that end a part, so only the written text moves the answer.
func urlPartAt(prefix string) urlPart {
	switch {
	case strings.Contains(prefix, "#"):
		return urlFragment
	case strings.Contains(prefix, "?"):
		return urlQuery
	}
	if i := strings.Index(prefix, "://"); i >= 0 && !strings.Contains(prefix[i+3:], "/") {
		return urlAuthority
	}
	return urlPath
}

// escapeURLValue percent-encodes a value for the part of a URL it lands in.
func escapeURLValue(s string, part urlPart) string {
	switch part {
	case urlAuthority:
		// Sub-delimiters, ":" (port, user:password) and "[ ]" (IPv6) stay; "/", "?", "#"
		// and "@" would end or split the authority.
		return percentEncode(s, "!$&'()*+,;=:[]")
	case urlPath:
		return url.PathEscape(s)
	case urlQuery:
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

// urlForms are the ways a secret value can appear in a rendered URL, for redaction.
func urlForms(s string) []string {
	return []string{url.PathEscape(s), url.QueryEscape(s), escapeURLValue(s, urlAuthority), escapeURLValue(s, urlFragment)}
}
