package designer

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Budget bounds one evaluation, like a sandbox: Memory is the bytes it may allocate in all
// (every allocation is counted, before it is made, and never given back), Steps the work it
// may do, about one VM instruction each (a loop's body costs its size on every pass; scanning
// or copying data costs by its length).
type Budget struct {
	Memory int64
	Steps  int64
}

// Budgets. A budget is counted, never timed, so that an evaluation inside workflow code
// gives the same result when a run is replayed.
var (
	// DefaultBudget is for evaluations outside workflow code: a transform's value and the
	// templates of http, llm and approval nodes. It allows summing 10,000 items or building
	// a 100 KB string many times over, and stops a runaway expression in well under a second.
	DefaultBudget = Budget{Memory: 16 << 20, Steps: 10_000_000}
	// WorkflowBudget is for evaluations inside workflow code (edge when, graph output, wait
	// until, subgraph input), where every evaluation holds up the run's workflow task: small
	// enough to stay far below the SDK's deadlock detector, large enough for an output that
	// gathers node outputs close to the 2 MiB a history event may hold.
	WorkflowBudget = Budget{Memory: 4 << 20, Steps: 1_000_000}
)

// Budget resources, as BudgetError.Resource names them.
const (
	ResourceMemory = "memory"
	ResourceSteps  = "step"
	ResourceTime   = "time"
)

// BudgetError is an evaluation refused because it would pass its budget, or stopped at its
// deadline. Column is where in the expression it was refused (0 when unknown).
type BudgetError struct {
	Resource string
	Limit    int64
	Column   int
}

func (e *BudgetError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("column %d: %s", e.Column, e.Describe(""))
	}
	return e.Describe("")
}

// Describe says what happened to the expression of subject ("node x", "edge 2 (a → b)");
// an empty subject says "expression".
func (e *BudgetError) Describe(subject string) string {
	who := "expression"
	if subject != "" {
		who = "expression of " + subject
	}
	switch e.Resource {
	case ResourceMemory:
		return fmt.Sprintf("%s exceeded its memory budget of %d bytes", who, e.Limit)
	case ResourceSteps:
		return fmt.Sprintf("%s exceeded its step budget of %d steps", who, e.Limit)
	default:
		return fmt.Sprintf("%s was stopped at its deadline", who)
	}
}

// Meter counts what evaluations use of one Budget. Evaluations that make one value (the
// parts of a template, the templates of a transform's value) share a meter, so the value as
// a whole is bounded. A Meter is not safe for concurrent use.
type Meter struct {
	budget     Budget
	mem, steps int64
	ctx        context.Context
	nextCheck  int64
	err        *BudgetError
}

// deadlineEvery is how many steps pass between looks at the deadline.
const deadlineEvery = 4096

// NewMeter starts counting against b.
func NewMeter(b Budget) *Meter { return &Meter{budget: b} }

// WithDeadline makes the meter also stop evaluations when ctx is done. Never use it inside
// workflow code: a replay must decide exactly as the run did.
func (m *Meter) WithDeadline(ctx context.Context) *Meter {
	m.ctx = ctx
	return m
}

// Used reports the bytes and steps counted so far.
func (m *Meter) Used() (memory, steps int64) { return m.mem, m.steps }

// charge counts work about to be done; it refuses it, for good, once a budget would pass.
func (m *Meter) charge(steps, bytes int64) error {
	if m.err != nil {
		return m.err
	}
	m.steps = satAdd(m.steps, steps)
	m.mem = satAdd(m.mem, bytes)
	switch {
	case m.mem > m.budget.Memory:
		m.err = &BudgetError{Resource: ResourceMemory, Limit: m.budget.Memory}
	case m.steps > m.budget.Steps:
		m.err = &BudgetError{Resource: ResourceSteps, Limit: m.budget.Steps}
	case m.ctx != nil && m.steps >= m.nextCheck:
		m.nextCheck = m.steps + deadlineEvery
		if m.ctx.Err() != nil {
			m.err = &BudgetError{Resource: ResourceTime}
		}
	}
	if m.err != nil {
		return m.err
	}
	return nil
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}

// Costs, in steps, of work done outside the VM's loop.
const (
	bytesPerStep = 256  // scanning or copying a string
	valueSteps   = 4    // visiting one value of a list or map (reflection, map iteration)
	zoneLoad     = 4096 // time.LoadLocation reads the zone database
	wordBytes    = 16   // one slot of a []any, or a string header
	maxRepeat    = 1_000_000
)

func scanSteps(n int) int64 { return 1 + int64(n)/bytesPerStep }

// pre charges an operator or a builtin before it runs, from its actual arguments, so that
// nothing large is allocated or scanned unless the budget allows it. Arguments the builtin
// would reject are charged little; the builtin then reports its own error.
func (m *Meter) pre(op string, args []any) error {
	arg := func(i int) any {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	str := func(i int) string { s, _ := arg(i).(string); return s }
	switch op {
	case "+":
		a, okA := arg(0).(string)
		b, okB := arg(1).(string)
		if okA && okB {
			n := len(a) + len(b)
			return m.charge(scanSteps(n), int64(n))
		}
		return m.charge(1, 0)
	case "<", ">", "<=", ">=", "contains", "startsWith", "endsWith":
		return m.charge(scanSteps(len(str(0))+len(str(1))), 0)
	case "matches", "matchesConst":
		// Go's regexp runs in time linear in the text, times the pattern's size at worst;
		// a pattern that is not a constant is compiled on each call too.
		s, p := int64(len(str(0))), int64(len(str(1)))
		steps, bytes := 1+satMul(s+1, p+1)/2, int64(0)
		if op == "matches" {
			steps, bytes = satAdd(steps, 16*p), satMul(p, 1024)
		}
		return m.charge(steps, bytes)
	case "==", "!=":
		return m.chargeEqual(arg(0), arg(1))
	case "in":
		return m.chargeIn(arg(0), arg(1))
	case "..":
		lo, okLo := toInt64(arg(0))
		hi, okHi := toInt64(arg(1))
		if !okLo || !okHi || hi < lo {
			return m.charge(1, 0)
		}
		n := hi - lo + 1
		if n <= 0 { // overflowed
			n = math.MaxInt64
		}
		return m.charge(1+n/64, satMul(n, 8))
	case "repeat":
		n, ok := toInt64(arg(1))
		if !ok || n < 0 {
			return m.charge(1, 0)
		}
		if n > maxRepeat {
			// expr refuses these itself, calling it a memory budget; say what it is.
			return fmt.Errorf("repeat count %d is more than %d", n, maxRepeat)
		}
		size := satMul(int64(len(str(0))), n)
		return m.charge(1+size/bytesPerStep, size)
	case "join":
		return m.chargeJoin(arg(0), str(1))
	case "replace":
		return m.chargeReplace(str(0), str(1), str(2), args)
	case "split", "splitAfter":
		s, sep := str(0), str(1)
		count := int64(strings.Count(s, sep)) + 1
		if sep == "" {
			count = int64(utf8.RuneCountInString(s))
		}
		if len(args) > 2 {
			if n, ok := toInt64(args[2]); ok && n >= 0 && n < count {
				count = n
			}
		}
		return m.charge(scanSteps(len(s))+count/64, satMul(count, wordBytes))
	case "upper", "lower":
		// Invalid UTF-8 becomes U+FFFD: up to three bytes for one.
		n := len(str(0))
		return m.charge(scanSteps(n), 3*int64(n))
	case "trim", "trimPrefix", "trimSuffix", "indexOf", "lastIndexOf", "hasPrefix", "hasSuffix",
		"int", "float", "duration":
		return m.charge(scanSteps(len(str(0))+len(str(1))), 0)
	case "date":
		steps := scanSteps(len(str(0)) + len(str(1)))
		if len(args) >= 3 {
			steps += zoneLoad
		}
		return m.charge(steps, 0)
	case "timezone":
		return m.charge(zoneLoad, 0)
	case "toJSON":
		size, err := m.encodedSize(arg(0), true)
		if err != nil {
			return err
		}
		// Marshalled compact, then indented, then copied into a string.
		return m.charge(1+size/bytesPerStep, satMul(size, 3))
	case "fromJSON":
		n := int64(len(str(0)))
		// Decoded values take several times their text: boxes, slices, maps.
		return m.charge(1+n/16, satMul(n, 32))
	case "toBase64", "fromBase64":
		n := int64(len(str(0)))
		return m.charge(1+n/bytesPerStep, 4*n)
	case "string":
		if s, ok := arg(0).(string); ok {
			return m.charge(scanSteps(len(s)), int64(len(s)))
		}
		size, err := m.encodedSize(arg(0), false)
		if err != nil {
			return err
		}
		// fmt's %v writes nil as <nil> and grows its buffer by doubling.
		return m.charge(1+size/bytesPerStep, satMul(size, 3))
	case "max", "min", "mean", "median":
		n, err := m.countValues(args)
		if err != nil {
			return err
		}
		if op == "median" {
			return m.charge(1, satMul(n, 8))
		}
		return m.charge(1, 0)
	case "sort":
		n := int64(length(arg(0)))
		return m.charge(1+satMul(n, int64(bits.Len64(uint64(n)))), satMul(n, wordBytes))
	case "reverse":
		n := int64(length(arg(0)))
		return m.charge(1+n, satMul(n, wordBytes))
	case "uniq":
		// Each item is compared with every distinct one before it.
		n := int64(length(arg(0)))
		return m.charge(1+satMul(n, n+1)/2, satMul(n, wordBytes))
	case "concat":
		var n int64
		for _, a := range args {
			n += int64(length(a))
		}
		return m.charge(1+n, satMul(n, 2*wordBytes))
	case "flatten":
		n, err := m.countValues(args)
		if err != nil {
			return err
		}
		return m.charge(1, satMul(n, 2*wordBytes))
	case "keys", "values":
		n := int64(length(arg(0)))
		return m.charge(1+satMul(n, int64(bits.Len64(uint64(n)))), satMul(n, 2*wordBytes))
	case "toPairs", "fromPairs":
		n := int64(length(arg(0)))
		return m.charge(1+n, satMul(n, 6*wordBytes))
	case "loop":
		// A loop over arg 0: each pass costs the body's size (arg 1) in steps and adds arg 2
		// bytes to what the loop collects.
		n := int64(length(arg(0)))
		weight, _ := toInt64(arg(1))
		bytes, _ := toInt64(arg(2))
		return m.charge(1+satMul(n, weight), satMul(n, bytes))
	}
	return m.charge(1, 0)
}

// chargeEqual: deep equality walks both values as far as the smaller one goes.
func (m *Meter) chargeEqual(a, b any) error {
	sa, okA := a.(string)
	sb, okB := b.(string)
	if okA || okB {
		return m.charge(scanSteps(min(len(sa), len(sb))), 0)
	}
	if !composite(a) || !composite(b) {
		return m.charge(1, 0)
	}
	limit := (m.budget.Steps-m.steps)/valueSteps + 1
	na := countUpTo(a, limit)
	nb := countUpTo(b, min(na, limit))
	return m.charge(1+valueSteps*min(na, nb), 0)
}

// chargeIn: x in list compares x with every item.
func (m *Meter) chargeIn(x, coll any) error {
	switch c := coll.(type) {
	case nil:
		return m.charge(1, 0)
	case string:
		return m.charge(scanSteps(len(c)), 0)
	case map[string]any:
		s, _ := x.(string)
		return m.charge(scanSteps(len(s)), 0)
	}
	n := int64(length(coll))
	if n == 0 {
		return m.charge(1, 0)
	}
	per := int64(1)
	if s, ok := x.(string); ok {
		per = scanSteps(len(s))
	} else if composite(x) {
		per = valueSteps * countUpTo(x, (m.budget.Steps-m.steps)/valueSteps+1)
	}
	return m.charge(1+satMul(n, per), 0)
}

func (m *Meter) chargeJoin(list any, sep string) error {
	var n, size int64
	switch l := list.(type) {
	case []string:
		for _, s := range l {
			size += int64(len(s))
		}
		n = int64(len(l))
	case []any:
		for _, v := range l {
			if s, ok := v.(string); ok {
				size += int64(len(s))
			}
		}
		n = int64(len(l))
	default:
		return m.charge(1, 0)
	}
	if n > 1 {
		size = satAdd(size, satMul(int64(len(sep)), n-1))
	}
	// join copies []any into a []string first.
	return m.charge(1+n+size/bytesPerStep, satAdd(size, satMul(n, wordBytes)))
}

func (m *Meter) chargeReplace(s, old, repl string, args []any) error {
	var count int64
	if old == "" {
		count = int64(utf8.RuneCountInString(s)) + 1
	} else {
		count = int64(strings.Count(s, old))
	}
	if len(args) > 3 {
		if n, ok := toInt64(args[3]); ok && n >= 0 && n < count {
			count = n
		}
	}
	size := int64(len(s))
	if grow := int64(len(repl)) - int64(len(old)); grow > 0 {
		size = satAdd(size, satMul(count, grow))
	}
	return m.charge(2*scanSteps(len(s))+size/bytesPerStep, size)
}

// countValues counts the values in args, nested lists included, charging for the count.
func (m *Meter) countValues(args []any) (int64, error) {
	n := countUpTo(args, (m.budget.Steps-m.steps)/valueSteps+1)
	return n, m.charge(valueSteps*n, 0)
}

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

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case float64:
		if x != x || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
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
