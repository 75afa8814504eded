package engine

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"trellis/designer"
)

// ErrInvalidDefinition is matched (errors.Is) by every *DefinitionError.
var ErrInvalidDefinition = errors.New("invalid graph definition")

// DefinitionError lists why a definition cannot run.
type DefinitionError struct {
	Problems []designer.Problem
}

func (e *DefinitionError) Error() string {
	const shown = 3
	parts := make([]string, 0, shown)
	for i, p := range e.Problems {
		if i == shown {
			break
		}
		parts = append(parts, problemString(p))
	}
	msg := "invalid graph definition: " + strings.Join(parts, "; ")
	if n := len(e.Problems) - shown; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

// Is makes errors.Is(err, ErrInvalidDefinition) true.
func (e *DefinitionError) Is(target error) bool { return target == ErrInvalidDefinition }

func problemString(p designer.Problem) string {
	var b strings.Builder
	switch {
	case p.Node != "":
		fmt.Fprintf(&b, "node %q", p.Node)
	case p.Edge != nil:
		fmt.Fprintf(&b, "edge %d", *p.Edge)
	default:
		b.WriteString("graph")
	}
	if p.Field != "" {
		fmt.Fprintf(&b, " field %s", p.Field)
	}
	if p.Column > 0 {
		fmt.Fprintf(&b, " column %d", p.Column)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// problemList collects problems while compiling.
type problemList []designer.Problem

func (ps *problemList) node(id, field string, err error) {
	p := designer.Problem{Node: id, Field: field, Message: err.Error()}
	var ee *designer.ExprError
	if errors.As(err, &ee) {
		p.Column, p.Message = ee.Column, ee.Message
	}
	*ps = append(*ps, p)
}

func (ps *problemList) nodef(id, field, format string, args ...any) {
	*ps = append(*ps, designer.Problem{Node: id, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (ps *problemList) edge(i int, field string, err error) {
	p := designer.Problem{Edge: &i, Field: field, Message: err.Error()}
	var ee *designer.ExprError
	if errors.As(err, &ee) {
		p.Column, p.Message = ee.Column, ee.Message
	}
	*ps = append(*ps, p)
}

// plan is a definition compiled for execution: kinds resolved, edges indexed and checked,
// expressions compiled. Node configs are compiled on first use (planNode.config), so that
// a run's first workflow task does work in proportion to the nodes it starts, not to the
// whole graph. A plan never changes but for that memo, so runs of the same definition
// share it.
type plan struct {
	graph  *designer.Graph
	nodes  []planNode
	index  map[string]int
	edges  []planEdge
	in     [][]int // edge indexes into each node, in document order
	out    [][]int // edge indexes out of each node, in document order
	output *designer.Expr
	// events is the estimated history length of a run (see estimateHistory), without what
	// only configs tell when the plan came from compileStructure.
	events int
	// checked is done once every node's config is compiled; checkErr lists their problems.
	checked  sync.Once
	checkErr error
}

type planNode struct {
	node    *designer.Node
	kind    kind
	retry   *temporal.RetryPolicy
	timeout time.Duration
	cfg     *nodeConfig
	onError string // the node's on_error, or the graph's default (designer.Graph.ErrorPolicyOf)
}

// nodeConfig is a node's config as its kind compiled it, and the problems found doing so.
type nodeConfig struct {
	once     sync.Once
	val      any
	problems []designer.Problem
}

// config compiles the node's config on first use. Compiling is pure, so it does not matter
// which run, replay or start check comes first; problems mean the node cannot run.
func (pn *planNode) config() (any, []designer.Problem) {
	c := pn.cfg
	c.once.Do(func() {
		var ps problemList
		c.val = pn.kind.compile(pn.node, &ps)
		c.problems = ps
	})
	return c.val, c.problems
}

type planEdge struct {
	from, to int
	port     string
	when     *designer.Expr
}

// Activity defaults from graph-format.md.
const (
	defaultAttempts    = 3
	defaultInitial     = time.Second
	defaultBackoff     = 2.0
	defaultMaxInterval = time.Minute
	defaultTimeout     = 60 * time.Second
)

// compile turns a definition into a plan or a *DefinitionError: it is the whole check a
// definition passes before a run starts. The rules of a graph are designer's, so designer
// validates first and its problems are the answer; then the plan is built, every node's
// config compiled into what its kind executes, and the history size estimated, which is
// the engine's own. It is pure, so its result may be cached and shared between workflow
// executions and replays.
func compile(g *designer.Graph) (*plan, error) {
	if ps := designer.Validate(g, designer.ValidateEnv{}); len(ps) > 0 {
		return nil, &DefinitionError{Problems: ps}
	}
	p, err := compilePlan(g, true)
	if err == nil {
		p.checked.Do(func() {})
	}
	return p, err
}

// compileStructure builds the plan without validating and without the node configs, which
// are left to planNode.config: a run's first workflow task, for a definition that compile
// accepted when the run started. What it still refuses is what the plan cannot be built
// from (an edge to no node, an unknown kind or port, an expression that does not compile,
// a cycle) and a history too long.
func compileStructure(g *designer.Graph) (*plan, error) { return compilePlan(g, false) }

func compilePlan(g *designer.Graph, configs bool) (*plan, error) {
	var ps problemList
	p := &plan{graph: g, index: make(map[string]int, len(g.Nodes)),
		nodes: make([]planNode, len(g.Nodes)),
		in:    make([][]int, len(g.Nodes)), out: make([][]int, len(g.Nodes))}
	p.compileNodes(&ps, configs)
	p.compileEdges(&ps, configs)
	if g.Output != "" {
		out, err := designer.CompileExpr(g.Output)
		if err != nil {
			ps = append(ps, designer.Problem{Field: "output", Message: err.Error()})
			var ee *designer.ExprError
			if errors.As(err, &ee) {
				ps[len(ps)-1].Column, ps[len(ps)-1].Message = ee.Column, ee.Message
			}
		}
		p.output = out
	}
	if len(ps) == 0 {
		if cycle := p.findCycle(); cycle != nil {
			ps = append(ps, designer.Problem{Field: "edges",
				Message: "cycle through nodes " + strings.Join(cycle, " → ")})
		}
	}
	if len(ps) == 0 {
		p.events = p.estimateHistory(configs)
		if prob := tooLarge(p.events); prob != nil {
			ps = append(ps, *prob)
		}
	}
	if len(ps) > 0 {
		return nil, &DefinitionError{Problems: ps}
	}
	return p, nil
}

// compileNodes indexes the graph's nodes and resolves each one's kind, retry policy and
// timeout (and config, when configs). The values' rules (ids, join, on_error, durations)
// are designer's, checked by compile before a run starts.
func (p *plan) compileNodes(ps *problemList, configs bool) {
	g := p.graph
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if _, dup := p.index[n.ID]; dup {
			ps.nodef(n.ID, "id", "duplicate node id %q", n.ID)
			continue
		}
		p.index[n.ID] = i
		pn := &p.nodes[i]
		pn.node = n
		pn.onError = g.ErrorPolicyOf(n)
		pn.retry = compileRetry(n)
		pn.timeout = compileTimeout(n)
		k, ok := kindFor(n.Kind)
		if !ok {
			ps.nodef(n.ID, "kind", "unknown kind %q", n.Kind)
			continue
		}
		pn.kind = k
		pn.cfg = &nodeConfig{}
		if configs {
			_, problems := pn.config()
			*ps = append(*ps, problems...)
		}
	}
}

// compileEdges checks each edge's ends, port and when, and links it into the plan.
func (p *plan) compileEdges(ps *problemList, configs bool) {
	g := p.graph
	for i, e := range g.Edges {
		from, okFrom := p.index[e.From]
		to, okTo := p.index[e.To]
		if !okFrom {
			ps.edge(i, "from", fmt.Errorf("no node %q", e.From))
		}
		if !okTo {
			ps.edge(i, "to", fmt.Errorf("no node %q", e.To))
		}
		if !okFrom || !okTo {
			continue
		}
		if from == to {
			ps.edge(i, "to", fmt.Errorf("node %q cannot follow itself", e.To))
			continue
		}
		pe := planEdge{from: from, to: to, port: e.EdgePort()}
		if src := &p.nodes[from]; src.kind != nil {
			// Kinds read their ports from the node itself when the config is not compiled.
			var cfg any
			if configs {
				cfg, _ = src.config()
			}
			if ports := src.kind.ports(src.node, cfg); !contains(ports, pe.port) {
				ps.edge(i, "port", fmt.Errorf("node %q (%s) has no port %q; its ports are %s",
					e.From, src.node.Kind, pe.port, strings.Join(ports, ", ")))
			}
		}
		if e.When != "" {
			w, err := designer.CompileExpr(e.When)
			if err != nil {
				ps.edge(i, "when", err)
			}
			pe.when = w
		}
		p.out[from] = append(p.out[from], len(p.edges))
		p.in[to] = append(p.in[to], len(p.edges))
		p.edges = append(p.edges, pe)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// compileRetry is the node's retry policy, with graph-format.md's defaults for what it
// leaves out (designer checks the values before a run starts).
func compileRetry(n *designer.Node) *temporal.RetryPolicy {
	rp := &temporal.RetryPolicy{MaximumAttempts: defaultAttempts, InitialInterval: defaultInitial,
		BackoffCoefficient: defaultBackoff, MaximumInterval: defaultMaxInterval}
	r := n.Retry
	if r == nil {
		return rp
	}
	if r.MaxAttempts > 0 {
		rp.MaximumAttempts = int32(min(r.MaxAttempts, 1000))
	}
	if r.Backoff >= 1 {
		rp.BackoffCoefficient = r.Backoff
	}
	if d, ok := positiveDuration(r.InitialInterval); ok {
		rp.InitialInterval = d
	}
	if d, ok := positiveDuration(r.MaxInterval); ok {
		rp.MaximumInterval = d
	}
	rp.MaximumInterval = max(rp.MaximumInterval, rp.InitialInterval)
	return rp
}

func compileTimeout(n *designer.Node) time.Duration {
	if d, ok := positiveDuration(n.Timeout); ok {
		return d
	}
	return defaultTimeout
}

// positiveDuration parses an optional duration field; ok is false when it is empty or not
// a positive duration.
func positiveDuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// findCycle returns the ids along one cycle, or nil when the graph is acyclic.
func (p *plan) findCycle() []string {
	indeg := make([]int, len(p.nodes))
	for _, e := range p.edges {
		indeg[e.to]++
	}
	queue := make([]int, 0, len(p.nodes))
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	seen := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		seen++
		for _, ei := range p.out[n] {
			t := p.edges[ei].to
			if indeg[t]--; indeg[t] == 0 {
				queue = append(queue, t)
			}
		}
	}
	if seen == len(p.nodes) {
		return nil
	}
	// Every node left has a predecessor that is also left, so walking predecessors from
	// any of them must come back to a node already visited: that loop is a cycle.
	start := -1
	for i, d := range indeg {
		if d > 0 {
			start = i
			break
		}
	}
	pos := map[int]int{}
	var path []int
	for n := start; ; {
		if at, ok := pos[n]; ok {
			path = path[at:]
			break
		}
		pos[n] = len(path)
		path = append(path, n)
		for _, ei := range p.in[n] {
			if f := p.edges[ei].from; indeg[f] > 0 {
				n = f
				break
			}
		}
	}
	// path runs against the edges; reverse it and start at the node first in the document.
	cycle := make([]int, 0, len(path))
	for i := len(path) - 1; i >= 0; i-- {
		cycle = append(cycle, path[i])
	}
	first := 0
	for i, n := range cycle {
		if n < cycle[first] {
			first = i
		}
	}
	cycle = append(cycle[first:], cycle[:first]...)
	ids := make([]string, 0, len(cycle)+1)
	for _, n := range cycle {
		ids = append(ids, p.nodes[n].node.ID)
	}
	return append(ids, ids[0])
}

// History budget. Temporal fails a run whose history passes 51,200 events
// (limit.historyCount.error) or 50 MiB (limit.historySize.error), and refuses any single
// event over 2 MiB (limit.blobSize.error). A run is refused at start when its estimate
// passes maxHistoryEvents, which leaves room for cancellation, search attribute updates and
// extra workflow tasks, or when its start event (definition + input) passes maxStartBytes.
// Bytes beyond the start event depend on node outputs, which cannot be known in advance;
// http responses are capped (Deps.MaxResponseBytes) so that one output fits in an event.
const (
	maxHistoryEvents = 40_000
	maxStartBytes    = 1_500_000
	// baseEvents: started, first workflow task (3 events), the markers of changeNodeConfig,
	// changeMigrate and changeRunRollup with their search attributes, the rollup's start and
	// end reports and the workflow task after the end (versions_rollup.go), completion.
	baseEvents = 21
	// workflowTaskEvents: a workflow task is scheduled, started and completed; in the worst
	// case (a chain) every activity result costs one.
	workflowTaskEvents = 3
)

// estimateHistory is a worst-case event count: each node's own events plus one workflow
// task per node, as if every node ran one after another. Without configs it leaves out
// what only compiled configs tell (a lower bound, for a run's start; see check).
func (p *plan) estimateHistory(configs bool) int {
	events := baseEvents
	for _, pn := range p.nodes {
		events += pn.kind.historyEvents(pn.node, nil)
	}
	// Expressions evaluated in workflow code are recorded, one event each (expr_eval.go).
	for i := range p.nodes {
		var cfg any
		if configs {
			cfg, _ = p.nodes[i].config()
		}
		switch c := cfg.(type) {
		case *waitConfig:
			if c.until != nil {
				events++
			}
		case *subgraphConfig:
			if c.input != nil {
				events++
			}
		}
	}
	for _, e := range p.edges {
		if e.when != nil {
			events++
		}
	}
	if p.output != nil {
		events++
	}
	return events
}

// tooLarge refuses a run whose estimated history passes the budget.
func tooLarge(events int) *designer.Problem {
	if events <= maxHistoryEvents {
		return nil
	}
	return &designer.Problem{Field: "nodes", Message: fmt.Sprintf(
		"graph is too large for one run: about %d history events, the limit is %d", events, maxHistoryEvents)}
}

// checkStartSize refuses a run whose start event would not fit.
func checkStartSize(in RunInput) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode run input: %w", err)
	}
	if len(b) > maxStartBytes {
		return &DefinitionError{Problems: []designer.Problem{{Field: "nodes", Message: fmt.Sprintf(
			"definition and input take %d bytes; one run accepts at most %d", len(b), maxStartBytes)}}}
	}
	return nil
}

// planCache shares plans between executions, whichever of compile and compileStructure
// made them; compiling is pure, so a cached plan is exactly what compiling again would give
// and replay stays deterministic.
var planCache = newLRU[[32]byte, *plan](32)

// compileCached is compile through the cache.
func compileCached(g *designer.Graph) (*plan, error) {
	key := planKey(g)
	if p, ok := planCache.get(key); ok {
		// A plan cached by compileStructure has passed all but the configs: the problems
		// compile would find are exactly those of the configs, in the same order.
		if err := p.check(); err != nil {
			return nil, err
		}
		return p, nil
	}
	p, err := compile(g)
	if err != nil {
		return nil, err
	}
	planCache.put(key, p)
	return p, nil
}

// planCached is compileStructure through the cache.
func planCached(g *designer.Graph) (*plan, error) {
	key := planKey(g)
	if p, ok := planCache.get(key); ok {
		return p, nil
	}
	p, err := compileStructure(g)
	if err != nil {
		return nil, err
	}
	planCache.put(key, p)
	return p, nil
}

// planKey hashes every field of a definition (TestPlanKeyCoversTheDefinition keeps it so),
// each prefixed by its length. A run's first workflow task computes it; written out by hand
// it costs a fraction of encoding the definition as JSON.
func planKey(g *designer.Graph) [32]byte {
	size := len(g.Format) + len(g.Name) + len(g.Description) + len(g.Input) + len(g.Output) + 16
	for i := range g.Nodes {
		size += len(g.Nodes[i].Config) + 96
	}
	k := keyWriter{b: make([]byte, 0, size+64*len(g.Edges))}
	k.str(g.Format)
	k.str(g.Name)
	k.str(g.Description)
	k.str(string(g.Input))
	k.str(g.Output)
	k.str(g.OnError)
	k.num(uint64(len(g.Nodes)))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		k.str(n.ID)
		k.str(n.Kind)
		k.str(n.Label)
		k.str(string(n.Config))
		k.str(n.Timeout)
		k.str(n.Join)
		k.str(n.OnError)
		k.flag(n.Position != nil)
		if p := n.Position; p != nil {
			k.num(math.Float64bits(p.X))
			k.num(math.Float64bits(p.Y))
		}
		k.flag(n.Retry != nil)
		if r := n.Retry; r != nil {
			k.num(uint64(r.MaxAttempts))
			k.str(r.InitialInterval)
			k.num(math.Float64bits(r.Backoff))
			k.str(r.MaxInterval)
		}
	}
	k.num(uint64(len(g.Edges)))
	for _, e := range g.Edges {
		k.str(e.From)
		k.str(e.To)
		k.str(e.Port)
		k.str(e.When)
	}
	return sha256.Sum256(k.b)
}

type keyWriter struct{ b []byte }

func (k *keyWriter) num(v uint64) { k.b = binary.AppendUvarint(k.b, v) }

func (k *keyWriter) str(s string) {
	k.num(uint64(len(s)))
	k.b = append(k.b, s...)
}

func (k *keyWriter) flag(set bool) {
	if set {
		k.b = append(k.b, 1)
	} else {
		k.b = append(k.b, 0)
	}
}

// check finishes what compileStructure left to do: it validates the definition with designer,
// compiles every node's config not compiled yet and counts the history with them, refusing
// as compile would, so a plan a run's workflow task cached is no shortcut past the rules.
func (p *plan) check() error {
	p.checked.Do(func() {
		if ps := designer.Validate(p.graph, designer.ValidateEnv{}); len(ps) > 0 {
			p.checkErr = &DefinitionError{Problems: ps}
			return
		}
		var ps problemList
		for i := range p.nodes {
			_, problems := p.nodes[i].config()
			ps = append(ps, problems...)
		}
		if len(ps) == 0 {
			if prob := tooLarge(p.estimateHistory(true)); prob != nil {
				ps = append(ps, *prob)
			}
		}
		if len(ps) > 0 {
			p.checkErr = &DefinitionError{Problems: ps}
		}
	})
	return p.checkErr
}

// lru is a small mutex-guarded least-recently-used cache.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List
	items map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), items: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*lruEntry[K, V]).val = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{key: k, val: v})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[K, V]).key)
	}
}
