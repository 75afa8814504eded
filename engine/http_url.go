package engine

import (
	"strings"

	"trellis/designer"
	"trellis/internal/urlpart"
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
			b.WriteString(urlpart.Escape(s, urlPartAt(b.String())))
		}
		if expr {
			first = false
		}
	})
	return b.String(), err
}

// urlPartAt tells where text appended to prefix lands. Escaped values hold none of the
// characters that end a part, so only the written text moves the answer.
func urlPartAt(prefix string) urlpart.Part {
	switch {
	case strings.Contains(prefix, "#"):
		return urlpart.Fragment
	case strings.Contains(prefix, "?"):
		return urlpart.Query
	}
	if i := strings.Index(prefix, "://"); i >= 0 && !strings.Contains(prefix[i+3:], "/") {
		return urlpart.Authority
	}
	return urlpart.Path
}
