package designer

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// The size of values, as encoding/json writes them, measured by walking them without
// writing anything: what a builtin or a template is about to allocate, and what a result
// costs to keep. Walks charge the meter as they go, so that measuring stays bounded too.

// composite: v holds other values, which equality and `in` compare one by one.
func composite(v any) bool {
	switch v.(type) {
	case nil, bool, string, int, int64, float64, time.Time, time.Duration:
		return false
	}
	k := reflect.ValueOf(v).Kind()
	return k == reflect.Slice || k == reflect.Array || k == reflect.Map || k == reflect.Struct || k == reflect.Pointer
}

// countUpTo counts the values in v, stopping at limit so that counting stays cheap.
func countUpTo(v any, limit int64) int64 {
	var n int64
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		n++
		if n >= limit || depth > maxJSONDepth {
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if walk(e, depth+1); n >= limit {
					return
				}
			}
		case map[string]any:
			for _, e := range x {
				if walk(e, depth+1); n >= limit {
					return
				}
			}
		case nil, bool, string, int, int64, float64:
		default:
			rv := reflect.ValueOf(v)
			switch rv.Kind() {
			case reflect.Slice, reflect.Array:
				for i := 0; i < rv.Len() && n < limit; i++ {
					walk(rv.Index(i).Interface(), depth+1)
				}
			case reflect.Map:
				for it := rv.MapRange(); it.Next() && n < limit; {
					walk(it.Value().Interface(), depth+1)
				}
			}
		}
	}
	walk(v, 0)
	return n
}

func length(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	case string:
		return len(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len()
	}
	return 0
}

// ValueTooDeepError is a value nested deeper than a JSON document may be.
type ValueTooDeepError struct{}

func (ValueTooDeepError) Error() string {
	return fmt.Sprintf("value is nested more than %d levels deep", maxJSONDepth)
}

// chargeValue charges what v costs to write out as JSON (as a template, an activity's
// result, a history event do): one step per value and its encoded size in bytes. Values an
// expression only refers to (input, node outputs) count each time they are referred to,
// since each reference is written out in full.
func (m *Meter) chargeValue(v any) error {
	switch v.(type) {
	case nil, bool, int, float64:
		return nil
	}
	size, err := m.encodedSize(v, false)
	if err != nil {
		return err
	}
	return m.charge(0, size)
}

// encodedSize is the length of v as encoding/json writes it (indented by two spaces when
// indent), charging a step per value and the scanning of strings as it walks.
func (m *Meter) encodedSize(v any, indent bool) (int64, error) {
	w := sizeWalker{m: m, indent: indent}
	size := w.walk(v, 0)
	return size, w.err
}

type sizeWalker struct {
	m      *Meter
	indent bool
	err    error
	buf    [64]byte
}

func (w *sizeWalker) walk(v any, depth int) int64 {
	if w.err != nil {
		return 0
	}
	if depth > maxJSONDepth {
		w.err = ValueTooDeepError{}
		return 0
	}
	if err := w.m.charge(valueSteps, 0); err != nil {
		w.err = err
		return 0
	}
	switch x := v.(type) {
	case nil:
		return 4
	case bool:
		return 5
	case string:
		if err := w.m.charge(scanSteps(len(x))-1, 0); err != nil {
			w.err = err
			return 0
		}
		return jsonStringLen(x)
	case int:
		return int64(len(strconv.AppendInt(w.buf[:0], int64(x), 10)))
	case int64:
		return int64(len(strconv.AppendInt(w.buf[:0], x, 10)))
	case float64:
		return floatLen(w.buf[:0], x)
	case time.Time:
		return int64(len(time.RFC3339Nano)) + 2
	case time.Duration:
		return int64(len(strconv.AppendInt(w.buf[:0], int64(x), 10)))
	case []any:
		var n int64
		for _, e := range x {
			n += w.walk(e, depth+1)
		}
		return n + w.frame(len(x), depth)
	case map[string]any:
		var n int64
		for k, e := range x {
			n += jsonStringLen(k) + 1 + w.walk(e, depth+1)
		}
		return n + w.frame(len(x), depth) + w.keySpaces(len(x))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		var n int64
		for i := 0; i < rv.Len() && w.err == nil; i++ {
			n += w.walk(rv.Index(i).Interface(), depth+1)
		}
		return n + w.frame(rv.Len(), depth)
	case reflect.Map:
		var n int64
		for it := rv.MapRange(); it.Next() && w.err == nil; {
			n += w.walk(it.Key().Interface(), depth+1) + 1 + w.walk(it.Value().Interface(), depth+1)
		}
		return n + w.frame(rv.Len(), depth) + w.keySpaces(rv.Len())
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return 4
		}
		return w.walk(rv.Elem().Interface(), depth+1)
	case reflect.String:
		return jsonStringLen(rv.String())
	}
	return 32
}

// frame is the brackets and commas of a list or object of n items, and with indent the
// newline and spaces before each item and before the closing bracket.
func (w *sizeWalker) frame(n, depth int) int64 {
	size := int64(2)
	if n > 1 {
		size += int64(n - 1)
	}
	if w.indent && n > 0 {
		size += int64(n)*int64(1+2*(depth+1)) + int64(1+2*depth)
	}
	return size
}

func (w *sizeWalker) keySpaces(n int) int64 {
	if w.indent {
		return int64(n)
	}
	return 0
}

// jsonStringLen is the length of s as encoding/json writes it, quotes included.
func jsonStringLen(s string) int64 {
	n := int64(2)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += int64(size)
		}
		i += size
	}
	return n
}

func floatLen(buf []byte, f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 4
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return int64(len(strconv.AppendFloat(buf, f, format, -1, 64)))
}
