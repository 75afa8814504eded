package designer

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
)

// jsonval.go is a small strict JSON reader. encoding/json matches keys without regard to
// case, cannot say which path holds an unknown key, and reflects its way through the input
// several times; the designer needs exact keys, ordered members and paths, and it has to
// parse and validate a 2,000-node graph in a few milliseconds.

// jkind is the type of a JSON value.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxJSONDepth = 256

// jval is one parsed JSON value. raw is the exact source text of the value. A lazy value
// is an object or list whose syntax was checked but whose contents were not built (see
// parseShallow); expand builds them.
type jval struct {
	kind jkind
	lazy bool
	b    bool // jBool
	raw  []byte
	str  string // jString: the decoded string
	// kids are an object's members in the order written, or a list's elements (with
	// empty keys): one slice for both keeps every value small.
	kids []jmember
}

type jmember struct {
	key string
	val jval
}

// get returns the member named key (the last one, as encoding/json does for duplicates).
func (v *jval) get(key string) *jval {
	for i := len(v.kids) - 1; i >= 0; i-- {
		if v.kids[i].key == key {
			return &v.kids[i].val
		}
	}
	return nil
}

func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "a boolean"
	case jNumber:
		return "a number"
	case jString:
		return "a string"
	case jArray:
		return "a list"
	default:
		return "an object"
	}
}

// float is the value of a number, and whether it fits a float64.
func (v *jval) float() (float64, bool) {
	f, err := strconv.ParseFloat(string(v.raw), 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// toAny converts the value to what encoding/json would produce for `any`. A number out of
// float64 range stays a json.Number, which can still be written back.
func (v *jval) toAny() any {
	if v.lazy {
		full := v.expand()
		return full.toAny()
	}
	switch v.kind {
	case jBool:
		return v.b
	case jNumber:
		f, ok := v.float()
		if !ok {
			return json.Number(v.raw)
		}
		return f
	case jString:
		return v.str
	case jArray:
		out := make([]any, len(v.kids))
		for i := range v.kids {
			out[i] = v.kids[i].val.toAny()
		}
		return out
	case jObject:
		out := make(map[string]any, len(v.kids))
		for i := range v.kids {
			out[v.kids[i].key] = v.kids[i].val.toAny()
		}
		return out
	}
	return nil
}

// jsonSyntaxError says where a document stops being JSON.
type jsonSyntaxError struct {
	Offset       int
	Line, Column int
	Msg          string
}

func (e *jsonSyntaxError) Error() string {
	return fmt.Sprintf("%s at line %d, column %d", e.Msg, e.Line, e.Column)
}

type jparser struct {
	data    []byte
	pos     int
	depth   int
	err     *jsonSyntaxError
	members []jmember // stack of the members and elements being read
	build   int       // see parseShallow
}

var parserPool = sync.Pool{New: func() any { return &jparser{} }}

// parseJSON parses one JSON document. The returned value's raw slices alias data.
func parseJSON(data []byte) (jval, error) {
	return parseShallow(data, 0)
}

// parseShallow is parseJSON, except that objects and lists nested build levels deep (or
// more) are only checked, and left lazy; 0 builds everything.
func parseShallow(data []byte, build int) (jval, error) {
	p := parserPool.Get().(*jparser)
	p.data, p.pos, p.depth, p.err, p.build = data, 0, 0, nil, build
	var v jval
	p.skipSpace()
	p.value(&v)
	if p.err == nil {
		p.skipSpace()
		if p.pos < len(p.data) {
			p.fail("unexpected text after the end of the document")
		}
	}
	err := p.err
	p.data, p.err = nil, nil
	if cap(p.members) > 1<<14 {
		p.members = nil // do not keep a huge document's stack alive
	}
	parserPool.Put(p)
	if err != nil {
		return jval{}, err
	}
	return v, nil
}

// expand builds a lazy value's contents.
func (v *jval) expand() jval {
	if !v.lazy {
		return *v
	}
	full, err := parseJSON(v.raw)
	if err != nil { // cannot happen: the syntax was checked
		return jval{kind: jNull, raw: []byte("null")}
	}
	return full
}

func (p *jparser) fail(msg string) {
	if p.err != nil {
		return
	}
	line, col := 1, 1
	for i := 0; i < p.pos && i < len(p.data); i++ {
		if p.data[i] == '\n' {
			line, col = line+1, 1
		} else if p.data[i]&0xC0 != 0x80 {
			col++
		}
	}
	p.err = &jsonSyntaxError{Offset: p.pos, Line: line, Column: col, Msg: msg}
}

func (p *jparser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) unexpected() {
	if p.pos >= len(p.data) {
		p.fail("unexpected end of the document")
		return
	}
	c := p.data[p.pos]
	if c >= 0x20 && c < 0x7f {
		p.fail(fmt.Sprintf("unexpected character %q", c))
	} else {
		p.fail(fmt.Sprintf("unexpected byte 0x%02x", c))
	}
}

// value reads one value into v; with v nil it only checks the syntax.
func (p *jparser) value(v *jval) {
	if p.pos >= len(p.data) {
		p.unexpected()
		return
	}
	start := p.pos
	var discard jval
	target := v
	if v == nil {
		target = &discard
	}
	build := v != nil
	switch c := p.data[p.pos]; {
	case c == '{':
		target.kind = jObject
		if build && p.build > 0 && p.depth >= p.build {
			target.lazy, build = true, false
		}
		target.kids = p.object(build)
	case c == '[':
		target.kind = jArray
		if build && p.build > 0 && p.depth >= p.build {
			target.lazy, build = true, false
		}
		target.kids = p.array(build)
	case c == '"':
		target.kind = jString
		target.str = p.string(!build)
	case c == '-' || (c >= '0' && c <= '9'):
		target.kind = jNumber
		p.number()
	case c == 't':
		target.kind, target.b = jBool, true
		p.literal("true")
	case c == 'f':
		target.kind = jBool
		p.literal("false")
	case c == 'n':
		target.kind = jNull
		p.literal("null")
	default:
		p.unexpected()
		return
	}
	if p.err == nil {
		target.raw = p.data[start:p.pos]
	}
}

func (p *jparser) literal(word string) {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return
	}
	p.unexpected()
}

func (p *jparser) enter() bool {
	p.depth++
	if p.depth > maxJSONDepth {
		p.fail(fmt.Sprintf("values nested more than %d deep", maxJSONDepth))
		return false
	}
	return true
}

// object reads an object's members; with build false it only checks the syntax. Members
// gather on a shared stack and are copied out once, sized exactly.
func (p *jparser) object(build bool) []jmember {
	if !p.enter() {
		return nil
	}
	p.pos++ // {
	base := len(p.members)
	p.objectMembers(build)
	p.depth--
	if !build || p.err != nil {
		clear(p.members[base:])
		p.members = p.members[:base]
		return nil
	}
	var out []jmember
	if n := len(p.members) - base; n > 0 {
		out = make([]jmember, n)
		copy(out, p.members[base:])
	}
	clear(p.members[base:])
	p.members = p.members[:base]
	return out
}

func (p *jparser) objectMembers(build bool) {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return
	}
	for p.err == nil {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			p.unexpected()
			return
		}
		key := p.string(!build)
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			p.unexpected()
			return
		}
		p.pos++
		p.skipSpace()
		if build {
			p.members = append(p.members, jmember{key: key})
			i := len(p.members) - 1
			var val jval
			p.value(&val)
			p.members[i].val = val
		} else {
			p.value(nil)
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			p.unexpected()
			return
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return
		default:
			p.unexpected()
			return
		}
	}
}

// array reads a list's elements; with build false it only checks the syntax. A list
// with no elements is empty but not nil, as encoding/json has it.
func (p *jparser) array(build bool) []jmember {
	if !p.enter() {
		return nil
	}
	p.pos++ // [
	base := len(p.members)
	p.arrayElems(build)
	p.depth--
	if !build || p.err != nil {
		clear(p.members[base:])
		p.members = p.members[:base]
		return nil
	}
	out := make([]jmember, len(p.members)-base)
	copy(out, p.members[base:])
	clear(p.members[base:])
	p.members = p.members[:base]
	return out
}

func (p *jparser) arrayElems(build bool) {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return
	}
	for p.err == nil {
		p.skipSpace()
		if build {
			p.members = append(p.members, jmember{})
			i := len(p.members) - 1
			var elem jval
			p.value(&elem)
			p.members[i].val = elem
		} else {
			p.value(nil)
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			p.unexpected()
			return
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return
		default:
			p.unexpected()
			return
		}
	}
}

func (p *jparser) number() {
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	default:
		p.unexpected()
		return
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.pos >= len(d) || d[p.pos] < '0' || d[p.pos] > '9' {
			p.unexpected()
			return
		}
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(d) || d[p.pos] < '0' || d[p.pos] > '9' {
			p.unexpected()
			return
		}
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	}
}
