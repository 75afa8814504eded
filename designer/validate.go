package designer

import (
	"container/heap"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
)

// ValidateEnv gives Validate what it cannot know from the graph alone. Every part is
// optional: a nil function skips the checks that need it.
type ValidateEnv struct {
	// GraphExists reports whether a graph id is known, for subgraph nodes.
	GraphExists func(id string) bool
	// SubgraphDeps lists the graph ids that a graph's draft and versions use as subgraphs,
	// to find graphs that include each other.
	SubgraphDeps func(id string) []string
	// SelfID is the id of the graph being validated, if it has one yet.
	SelfID string
}

// Validate returns every problem of the graph (graph-format.md, Validation), graph-level
// problems first, then each node's in document order, then each edge's. A nil or empty
// result means the graph can be published.
func Validate(g *Graph, env ValidateEnv) []Problem {
	if g == nil {
		return []Problem{{Message: "there is no graph"}}
	}
	v := &validator{g: g, env: env, ids: nodeIDs(g), exprs: newExprChecker()}
	v.nodeProbs = make([][]Problem, len(g.Nodes))
	v.outcomes = make([][]string, len(g.Nodes))
	v.edgeProbs = make([][]Problem, len(g.Edges))
	v.dupOf = duplicateEdges(g)
	v.graphLevel()
	v.each(len(g.Nodes), (*validator).node)
	// The environment need not be safe for concurrent use: ask it from here only.
	for i := range g.Nodes {
		if refersToGraph(g.Nodes[i].Kind) {
			v.subgraphIncludes(i)
		}
	}
	v.each(len(g.Edges), (*validator).edge)
	for _, c := range findCycles(g, v.ids) {
		start := c[0]
		v.nodeProbs[start] = append(v.nodeProbs[start], Problem{Node: g.Nodes[start].ID,
			Message: "cycle: " + cyclePath(g, c)})
	}
	out := v.graphProbs
	for _, ps := range v.nodeProbs {
		out = append(out, ps...)
	}
	for _, ps := range v.edgeProbs {
		out = append(out, ps...)
	}
	return out
}

type validator struct {
	g          *Graph
	env        ValidateEnv
	ids        map[string]int // node id → index of its first node
	exprs      *exprChecker
	graphProbs []Problem
	nodeProbs  [][]Problem
	edgeProbs  [][]Problem
	deps       map[string][]string // SubgraphDeps answers
	dupOf      []int               // edge → the earlier edge it repeats, or -1
	outcomes   [][]string          // approval node → its outcomes, as its config check read them
}

// site is where a problem is: a node (by index), an edge, or the graph (both -1). prefix
// goes before the field names of a part of a node checked as a node of its own (a map's
// inline body: "config.node.").
type site struct {
	node, edge int
	prefix     string
}

var graphSite = site{node: -1, edge: -1}

func (v *validator) add(s site, field string, column int, msg string) {
	if s.prefix != "" {
		field = strings.TrimSuffix(s.prefix+field, ".")
	}
	p := Problem{Field: field, Column: column, Message: msg}
	switch {
	case s.node >= 0:
		p.Node = v.g.Nodes[s.node].ID
		v.nodeProbs[s.node] = append(v.nodeProbs[s.node], p)
	case s.edge >= 0:
		e := s.edge
		p.Edge = &e
		v.edgeProbs[s.edge] = append(v.edgeProbs[s.edge], p)
	default:
		v.graphProbs = append(v.graphProbs, p)
	}
}

func (v *validator) graphLevel() {
	if p, bad := formatProblem(v.g.Format); bad {
		v.graphProbs = append(v.graphProbs, p)
	}
	if len(v.g.Input) > 0 {
		v.schema(graphSite, "input", v.g.Input, true)
	}
	if v.g.Output != "" {
		v.expression(exprSite{site: graphSite, field: "output"}, v.g.Output)
	}
	switch v.g.OnError {
	case "", OnErrorFail, OnErrorContinue, OnErrorHold:
	default:
		v.graphProbs = append(v.graphProbs, Problem{Field: "on_error",
			Message: fmt.Sprintf("on_error must be %q, %q or %q, not %q", OnErrorFail, OnErrorContinue, OnErrorHold, v.g.OnError)})
	}
}

// validID reports whether id matches ^[a-z][a-z0-9_]{0,62}$.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 63 || id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const idRule = "must start with a lowercase letter and hold only a-z, 0-9 and _, at most 63 characters"

func (v *validator) node(i int) {
	n := &v.g.Nodes[i]
	s := site{node: i, edge: -1}
	switch first := v.ids[n.ID]; {
	case n.ID == "":
		v.add(s, "id", 0, "the node has no id")
	case !validID(n.ID):
		v.add(s, "id", 0, fmt.Sprintf("id %q %s", n.ID, idRule))
	case first != i:
		v.add(s, "id", 0, fmt.Sprintf("duplicate id %q: nodes[%d] has it already", n.ID, first))
	}
	ki, known := kindIndex[n.Kind]
	var spec *KindSpec
	switch {
	case n.Kind == "":
		v.add(s, "kind", 0, "the node has no kind; expected one of "+kindNames())
	case !known:
		v.add(s, "kind", 0, fmt.Sprintf("unknown kind %q; expected one of %s", n.Kind, kindNames()))
	default:
		spec = &kinds[ki]
		v.config(s, n, spec)
	}
	v.common(s, n, spec)
}

func kindNames() string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// common checks the fields every node has; spec is nil for an unknown kind.
func (v *validator) common(s site, n *Node, spec *KindSpec) {
	works := spec == nil || spec.DoesWork
	if r := n.Retry; r != nil {
		if !works {
			v.add(s, "retry", 0, fmt.Sprintf("retry applies only to llm and http nodes, not %s nodes", spec.Name))
		} else {
			if r.MaxAttempts < 0 || r.MaxAttempts > 100 {
				v.add(s, "retry.max_attempts", 0, "retry.max_attempts must be from 1 to 100")
			}
			first, okFirst := v.duration(s, "retry.initial_interval", r.InitialInterval)
			last, okLast := v.duration(s, "retry.max_interval", r.MaxInterval)
			if okFirst && okLast && last < first {
				v.add(s, "retry.max_interval", 0, "retry.max_interval must not be shorter than retry.initial_interval")
			}
			if r.Backoff != 0 && (r.Backoff < 1 || r.Backoff > 100) {
				v.add(s, "retry.backoff", 0, "retry.backoff must be from 1 to 100")
			}
		}
	}
	if n.Timeout != "" {
		if !works {
			v.add(s, "timeout", 0, fmt.Sprintf("timeout applies only to llm and http nodes, not %s nodes", spec.Name))
		} else {
			v.duration(s, "timeout", n.Timeout)
		}
	}
	if n.Join != "" && n.Join != JoinAll && n.Join != JoinAny {
		v.add(s, "join", 0, fmt.Sprintf("join must be %q or %q, not %q", JoinAll, JoinAny, n.Join))
	}
	switch n.OnError {
	case "", OnErrorFail, OnErrorHold:
	case OnErrorContinue:
		if spec != nil && !contains(spec.Ports, PortError) {
			v.add(s, "on_error", 0, fmt.Sprintf("on_error %q needs an error port, which %s nodes do not have", OnErrorContinue, spec.Name))
		}
	default:
		v.add(s, "on_error", 0, fmt.Sprintf("on_error must be %q, %q or %q, not %q", OnErrorFail, OnErrorContinue, OnErrorHold, n.OnError))
	}
}

// duration checks an optional Go duration; ok is true when it is set and valid.
func (v *validator) duration(s site, field, text string) (time.Duration, bool) {
	if text == "" {
		return 0, false
	}
	name := strings.TrimPrefix(field, "config.")
	d, err := time.ParseDuration(text)
	if err != nil {
		v.add(s, field, 0, fmt.Sprintf("%s %q is not a duration; write it like 30s, 5m or 72h", name, text))
		return 0, false
	}
	if d <= 0 {
		v.add(s, field, 0, fmt.Sprintf("%s must be longer than zero", name))
		return 0, false
	}
	return d, true
}

func (v *validator) edge(i int) {
	e := &v.g.Edges[i]
	s := site{node: -1, edge: i}
	from, fromOK := v.ids[e.From]
	_, toOK := v.ids[e.To]
	switch {
	case e.From == "":
		v.add(s, "from", 0, "the edge has no from node")
	case !fromOK:
		v.add(s, "from", 0, fmt.Sprintf("the edge comes from node %q, which does not exist", e.From))
	}
	switch {
	case e.To == "":
		v.add(s, "to", 0, "the edge has no to node")
	case !toOK:
		v.add(s, "to", 0, fmt.Sprintf("the edge goes to node %q, which does not exist", e.To))
	case e.To == e.From:
		v.add(s, "to", 0, fmt.Sprintf("the edge connects node %q to itself", e.From))
	}
	if fromOK {
		src := &v.g.Nodes[from]
		port := e.EdgePort()
		if _, known := kindIndex[src.Kind]; known {
			ports := v.portsOf(from)
			switch {
			case !contains(ports, port):
				v.add(s, "port", 0, fmt.Sprintf("node %q has no port %q; its ports are %s", e.From, port, strings.Join(ports, ", ")))
			case port == PortError && v.g.ErrorPolicyOf(src) != OnErrorContinue:
				v.add(s, "port", 0, fmt.Sprintf("the error port is followed only when node %q has on_error %q", e.From, OnErrorContinue))
			}
		}
	}
	if j := v.dupOf[i]; j >= 0 {
		v.add(s, "", 0, fmt.Sprintf("duplicate edge: edges[%d] already connects %q to %q on port %q", j, e.From, e.To, e.EdgePort()))
	}
	if e.When != "" {
		v.expression(exprSite{site: s, field: "when"}, e.When)
	}
}

// parallelMin is the number of nodes or edges from which Validate spreads its work over
// the processors; below it, starting goroutines costs more than it saves.
const parallelMin = 200

// each calls fn for 0..n-1, in parallel chunks when n is large. Each chunk has its own
// fork of the validator; fn may write only the problems of its own node or edge.
func (v *validator) each(n int, fn func(w *validator, i int)) {
	workers := min(runtime.GOMAXPROCS(0), 8)
	if n < parallelMin || workers < 2 {
		for i := 0; i < n; i++ {
			fn(v, i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		w := v.fork()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// fork is a copy of the validator for one goroutine: it shares the problem slices (each
// goroutine writes its own elements) but not the caches.
func (v *validator) fork() *validator {
	w := *v
	w.exprs = newExprChecker()
	return &w
}

// duplicateEdges finds edges that repeat an earlier one's from, to and port.
func duplicateEdges(g *Graph) []int {
	dup := make([]int, len(g.Edges))
	first := make(map[edgeKey]int, len(g.Edges))
	for i, e := range g.Edges {
		k := edgeKey{from: e.From, to: e.To, port: e.EdgePort()}
		if j, ok := first[k]; ok {
			dup[i] = j
		} else {
			dup[i] = -1
			first[k] = i
		}
	}
	return dup
}

// portsOf is NodePorts, with an approval's outcomes as its config check read them.
func (v *validator) portsOf(i int) []string {
	n := &v.g.Nodes[i]
	if n.Kind != KindApproval {
		return kinds[kindIndex[n.Kind]].Ports
	}
	if o := v.outcomes[i]; o != nil {
		return o
	}
	return approvalOutcomes(n.Config)
}

// graphIndex maps edges to node indexes, ignoring edges with a missing end and self-loops
// (reported on the edge). Successors keep the order of the edges in the document.
func graphIndex(g *Graph, ids map[string]int) [][]int {
	succ := make([][]int, len(g.Nodes))
	for _, e := range g.Edges {
		a, okA := ids[e.From]
		b, okB := ids[e.To]
		if okA && okB && a != b {
			succ[a] = append(succ[a], b)
		}
	}
	return succ
}

func nodeIDs(g *Graph) map[string]int {
	ids := make(map[string]int, len(g.Nodes))
	for i := range g.Nodes {
		if _, dup := ids[g.Nodes[i].ID]; !dup {
			ids[g.Nodes[i].ID] = i
		}
	}
	return ids
}

// findCycles returns one cycle per strongly connected component of more than one node,
// as node indexes starting at the component's first node in document order (the start
// is not repeated at the end). Components are ordered by that first node.
func findCycles(g *Graph, ids map[string]int) [][]int {
	succ := graphIndex(g, ids)
	n := len(g.Nodes)
	// Tarjan's algorithm, iteratively, so that a long chain cannot overflow the stack.
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	comp := make([]int, n)
	var comps [][]int
	next := 0
	type frame struct{ node, edge int }
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.edge < len(succ[f.node]) {
				w := succ[f.node][f.edge]
				f.edge++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] && index[w] < low[f.node] {
					low[f.node] = index[w]
				}
				continue
			}
			u := f.node
			call = call[:len(call)-1]
			if len(call) > 0 {
				if p := call[len(call)-1].node; low[u] < low[p] {
					low[p] = low[u]
				}
			}
			if low[u] == index[u] {
				var members []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = len(comps) + 1
					members = append(members, w)
					if w == u {
						break
					}
				}
				comps = append(comps, members)
			}
		}
	}
	var cycles [][]int
	for ci, members := range comps {
		if len(members) < 2 {
			continue
		}
		start := members[0]
		for _, m := range members {
			if m < start {
				start = m
			}
		}
		cycles = append(cycles, shortestCycle(succ, comp, ci+1, start))
	}
	// Order by first node.
	for i := 1; i < len(cycles); i++ {
		for j := i; j > 0 && cycles[j][0] < cycles[j-1][0]; j-- {
			cycles[j], cycles[j-1] = cycles[j-1], cycles[j]
		}
	}
	return cycles
}

// shortestCycle finds, by breadth-first search inside one component, the shortest way
// from start back to start.
func shortestCycle(succ [][]int, comp []int, c, start int) []int {
	prev := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, w := range succ[u] {
			if comp[w] != c {
				continue
			}
			if w == start {
				var path []int
				for x := u; x != -1; x = prev[x] {
					path = append(path, x)
				}
				for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return path
			}
			if _, seen := prev[w]; !seen {
				prev[w] = u
				queue = append(queue, w)
			}
		}
	}
	return []int{start}
}

func cyclePath(g *Graph, c []int) string {
	parts := make([]string, 0, len(c)+1)
	for _, i := range c {
		parts = append(parts, g.Nodes[i].ID)
	}
	parts = append(parts, g.Nodes[c[0]].ID)
	return strings.Join(parts, " → ")
}

// TopoOrder lists the node ids so that every node comes after the nodes it has edges
// from; among nodes that are ready together, document order decides. Edges to or from
// missing nodes are ignored; a cycle is an error naming it.
func TopoOrder(g *Graph) ([]string, error) {
	ids := nodeIDs(g)
	for _, c := range findCycles(g, ids) {
		return nil, fmt.Errorf("the graph has a cycle: %s", cyclePath(g, c))
	}
	for _, e := range g.Edges {
		if e.From == e.To {
			if _, ok := ids[e.From]; ok {
				return nil, fmt.Errorf("the graph has a cycle: %s → %s", e.From, e.To)
			}
		}
	}
	succ := graphIndex(g, ids)
	indeg := make([]int, len(g.Nodes))
	for _, ws := range succ {
		for _, w := range ws {
			indeg[w]++
		}
	}
	ready := &intHeap{}
	for i := range g.Nodes {
		if ids[g.Nodes[i].ID] == i && indeg[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]string, 0, len(ids))
	for ready.Len() > 0 {
		u := heap.Pop(ready).(int)
		order = append(order, g.Nodes[u].ID)
		for _, w := range succ[u] {
			if indeg[w]--; indeg[w] == 0 {
				heap.Push(ready, w)
			}
		}
	}
	return order, nil
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Sinks lists, in document order, the ids of nodes with no edge to another existing node:
// without an output expression, the run's result holds their outputs.
func (g *Graph) Sinks() []string {
	ids := nodeIDs(g)
	succ := graphIndex(g, ids)
	var out []string
	for i := range g.Nodes {
		if ids[g.Nodes[i].ID] == i && len(succ[i]) == 0 {
			out = append(out, g.Nodes[i].ID)
		}
	}
	return out
}
