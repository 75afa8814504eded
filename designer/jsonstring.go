package designer

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxInterned is the longest interned word; longer strings are not worth the lookup.
const maxInterned = 20

// interned are keys and values that every graph repeats; reading one allocates nothing.
var interned = func() map[string]string {
	m := map[string]string{}
	add := func(words ...string) {
		for _, w := range words {
			m[w] = w
		}
	}
	add(graphFields...)
	add(nodeFields...)
	add(edgeFields...)
	add(retryFields...)
	add(positionFields...)
	add(schemaKeywords...)
	add(SchemaTypes...)
	add(HTTPMethods...)
	add(PortOut, PortError, JoinAll, JoinAny, OnErrorFail, OnErrorContinue, Format, "latest", "2xx")
	add(DefaultOutcomes...)
	for _, k := range kinds {
		add(k.Name)
		for _, f := range k.Fields {
			name, sub, _ := strings.Cut(f.Name, ".")
			add(name, sub)
		}
	}
	return m
}()

// string reads a quoted string at p.pos. Invalid UTF-8 becomes U+FFFD, as in encoding/json.
// With discard set it only checks the syntax and returns "".
func (p *jparser) string(discard bool) string {
	d := p.data
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes and plain ASCII or valid UTF-8.
	for p.pos < len(d) {
		c := d[p.pos]
		if c == '"' {
			s := d[start:p.pos]
			p.pos++
			if discard {
				return ""
			}
			if len(s) <= maxInterned {
				if w, ok := interned[string(s)]; ok {
					return w
				}
			}
			if utf8.Valid(s) {
				return string(s)
			}
			return string([]rune(string(s)))
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	var buf []byte
	if !discard {
		buf = make([]byte, 0, p.pos-start+16)
		buf = append(buf, d[start:p.pos]...)
	}
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			if discard {
				return ""
			}
			if !utf8.Valid(buf) {
				return string([]rune(string(buf)))
			}
			return string(buf)
		case c < 0x20:
			p.fail("control character in a string")
			return ""
		case c == '\\':
			var ok bool
			if buf, ok = p.escape(buf); !ok {
				return ""
			}
		default:
			buf = append(buf, c)
			p.pos++
		}
	}
	p.fail("unterminated string")
	return ""
}

// escape decodes the escape at p.pos (its backslash) onto buf; false when it is invalid
// (the parser has failed).
func (p *jparser) escape(buf []byte) ([]byte, bool) {
	d := p.data
	p.pos++
	if p.pos >= len(d) {
		p.unexpected()
		return buf, false
	}
	e := d[p.pos]
	p.pos++
	switch e {
	case '"', '\\', '/':
		return append(buf, e), true
	case 'b':
		return append(buf, '\b'), true
	case 'f':
		return append(buf, '\f'), true
	case 'n':
		return append(buf, '\n'), true
	case 'r':
		return append(buf, '\r'), true
	case 't':
		return append(buf, '\t'), true
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return buf, false
		}
		if utf16.IsSurrogate(r) {
			if p.pos+1 < len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
				save := p.pos
				p.pos += 2
				r2, ok := p.hex4()
				if !ok {
					return buf, false
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return utf8.AppendRune(buf, dec), true
				}
				p.pos = save
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(buf, r), true
	}
	p.pos--
	p.fail(fmt.Sprintf("invalid escape \\%c in a string", e))
	return buf, false
}

func (p *jparser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		p.pos = len(p.data)
		p.unexpected()
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := p.data[p.pos]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			p.fail("invalid \\u escape in a string")
			return 0, false
		}
		p.pos++
	}
	return r, true
}
