package designer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Canonical is the graph as stable JSON: fields in struct order, object keys in config and
// input sorted, numbers in one spelling, no insignificant whitespace and no HTML escaping.
// Two documents that differ only in key order, whitespace or number spelling (2.0 and 2)
// have the same canonical form; null config or input is the same as none.
func Canonical(g *Graph) ([]byte, error) {
	if g == nil {
		return nil, fmt.Errorf("canonical form: no graph")
	}
	// Size the buffer from the parts so that it is not copied as it grows.
	size := 256 + len(g.Name) + len(g.Description) + len(g.Input) + len(g.Output) + 64*len(g.Edges)
	for i := range g.Nodes {
		size += 160 + len(g.Nodes[i].Label) + len(g.Nodes[i].Config)
	}
	for i := range g.Edges {
		size += len(g.Edges[i].When)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"format":`...)
	b = appendJSONString(b, g.Format)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, g.Name)
	if g.Description != "" {
		b = append(b, `,"description":`...)
		b = appendJSONString(b, g.Description)
	}
	var err error
	if b, err = appendRawField(b, `,"input":`, g.Input); err != nil {
		return nil, fmt.Errorf("canonical form of input: %w", err)
	}
	b = append(b, `,"nodes":[`...)
	for i := range g.Nodes {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendNode(b, &g.Nodes[i]); err != nil {
			return nil, fmt.Errorf("canonical form of node %q: %w", g.Nodes[i].ID, err)
		}
	}
	b = append(b, `],"edges":[`...)
	for i := range g.Edges {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEdge(b, &g.Edges[i])
	}
	b = append(b, ']')
	if g.Output != "" {
		b = append(b, `,"output":`...)
		b = appendJSONString(b, g.Output)
	}
	b = appendStringField(b, `,"on_error":`, g.OnError)
	return append(b, '}'), nil
}

// Hash is "sha256:" and the hex SHA-256 of the canonical form.
func Hash(g *Graph) (string, error) {
	b, err := Canonical(g)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func appendNode(b []byte, n *Node) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, n.ID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, n.Kind)
	b = appendStringField(b, `,"label":`, n.Label)
	if n.Position != nil {
		b = append(b, `,"position":{"x":`...)
		b = appendFloat(b, n.Position.X)
		b = append(b, `,"y":`...)
		b = appendFloat(b, n.Position.Y)
		b = append(b, '}')
	}
	var err error
	if b, err = appendRawField(b, `,"config":`, n.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if r := n.Retry; r != nil {
		b = append(b, `,"retry":{`...)
		mark := len(b)
		if r.MaxAttempts != 0 {
			b = append(b, `,"max_attempts":`...)
			b = strconv.AppendInt(b, int64(r.MaxAttempts), 10)
		}
		b = appendStringField(b, `,"initial_interval":`, r.InitialInterval)
		if r.Backoff != 0 {
			b = append(b, `,"backoff":`...)
			b = appendFloat(b, r.Backoff)
		}
		b = appendStringField(b, `,"max_interval":`, r.MaxInterval)
		if len(b) > mark {
			b = append(b[:mark], b[mark+1:]...) // drop the first comma
		}
		b = append(b, '}')
	}
	b = appendStringField(b, `,"timeout":`, n.Timeout)
	b = appendStringField(b, `,"join":`, n.Join)
	b = appendStringField(b, `,"on_error":`, n.OnError)
	return append(b, '}'), nil
}

func appendEdge(b []byte, e *Edge) []byte {
	b = append(b, `{"from":`...)
	b = appendJSONString(b, e.From)
	b = append(b, `,"to":`...)
	b = appendJSONString(b, e.To)
	b = appendStringField(b, `,"port":`, e.Port)
	b = appendStringField(b, `,"when":`, e.When)
	return append(b, '}')
}

func appendStringField(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

func appendRawField(b []byte, key string, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return b, nil
	}
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	if v.kind == jNull {
		return b, nil
	}
	return appendCanonical(append(b, key...), &v), nil
}

// canonicalJSON is one value in canonical form.
func canonicalJSON(v *jval) []byte {
	return appendCanonical(nil, v)
}

// CanonicalJSON re-encodes any JSON text canonically (sorted keys, compact, numbers in
// one spelling), for comparing JSON values written differently.
func CanonicalJSON(raw []byte) ([]byte, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	return canonicalJSON(&v), nil
}

func appendCanonical(b []byte, v *jval) []byte {
	if v.lazy {
		full := v.expand()
		return appendCanonical(b, &full)
	}
	switch v.kind {
	case jNull:
		return append(b, "null"...)
	case jBool:
		if v.b {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case jNumber:
		return appendNumber(b, v.raw)
	case jString:
		return appendJSONString(b, v.str)
	case jArray:
		b = append(b, '[')
		for i := range v.kids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, &v.kids[i].val)
		}
		return append(b, ']')
	}
	// Sort member indexes by key, stably; small objects on the stack by insertion.
	var small [16]int
	var idx []int
	if len(v.kids) <= len(small) {
		idx = small[:len(v.kids)]
		for i := range idx {
			idx[i] = i
			for j := i; j > 0 && v.kids[idx[j]].key < v.kids[idx[j-1]].key; j-- {
				idx[j], idx[j-1] = idx[j-1], idx[j]
			}
		}
	} else {
		idx = sortedMembers(v)
	}
	b = append(b, '{')
	first := true
	for k, i := range idx {
		// A repeated key keeps its last value, as encoding/json does.
		if k+1 < len(idx) && v.kids[idx[k+1]].key == v.kids[i].key {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, v.kids[i].key)
		b = append(b, ':')
		b = appendCanonical(b, &v.kids[i].val)
	}
	return append(b, '}')
}

// sortedMembers is the indexes of an object's members, stably sorted by key.
func sortedMembers(v *jval) []int {
	idx := make([]int, len(v.kids))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return v.kids[idx[i]].key < v.kids[idx[j]].key })
	return idx
}

// appendNumber keeps integers exactly (however large) and writes every other number the
// way encoding/json writes a float64, so 2.0, 2 and 2e0 are one spelling.
func appendNumber(b []byte, raw []byte) []byte {
	integer := true
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
			break
		}
	}
	if integer {
		if string(raw) == "-0" {
			return append(b, '0')
		}
		return append(b, raw...)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) {
		return append(b, raw...) // out of float64 range: keep what was written
	}
	return appendFloat(b, f)
}

// appendFloat writes f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0') // also -0
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as encoding/json does with HTML escaping off.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
