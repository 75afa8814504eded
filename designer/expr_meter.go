package designer

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strings"
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

// opArgs are a builtin's arguments; a missing one is nil, or "" as a string.
type opArgs []any

func (a opArgs) at(i int) any {
	if i < len(a) {
		return a[i]
	}
	return nil
}

func (a opArgs) str(i int) string { s, _ := a.at(i).(string); return s }

// pre charges an operator or a builtin before it runs, from its actual arguments, so that
// nothing large is allocated or scanned unless the budget allows it. Arguments the builtin
// would reject are charged little; the builtin then reports its own error.
func (m *Meter) pre(op string, args []any) error {
	arg, str := opArgs(args).at, opArgs(args).str
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
	}
	return m.preValues(op, args)
}

// preValues charges the builtins that encode, decode, count or reorder whole values.
func (m *Meter) preValues(op string, args []any) error {
	arg, str := opArgs(args).at, opArgs(args).str
	switch op {
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
