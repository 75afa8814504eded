package templates

import (
	"strings"
	"unicode"
)

// Humanize turns a machine name into words for people: "send_back" is "Send back",
// "refund_amount" "Refund amount", "contractId" "Contract id", "URLPath" "URL path". Words
// written in capitals stay so. It is for names without a title of their own (schema
// properties, outcomes); the name itself is still what forms send.
func Humanize(name string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(strings.TrimSpace(name))
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.' || unicode.IsSpace(r):
			flush()
			continue
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])):
			flush() // camelCase boundary
		case unicode.IsUpper(r) && i > 0 && i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsLower(rs[i+1]):
			flush() // "URLPath" is "URL path"
		}
		cur = append(cur, r)
	}
	flush()
	if len(words) == 0 {
		return name
	}
	for i, w := range words {
		if allUpper(w) && len([]rune(w)) > 1 {
			continue
		}
		w = strings.ToLower(w)
		if i == 0 {
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			w = string(r)
		}
		words[i] = w
	}
	return strings.Join(words, " ")
}

func allUpper(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) && !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}
