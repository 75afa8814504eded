package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// mapKind runs one body for each item of a list, at most concurrency at once, and hands
// on the outputs in item order. Each item of an inline body is its own durable unit: the
// body kind's activity (http, llm), local activity (transform) or task (approval), with the
// body's retries.
//
// History limits: an item costs its activity's three events and usually a workflow task of
// its own, so 10,000 http items would pass Temporal's 51,200 events in one history. A map
// over more than mapBatchSize items therefore runs them in batches, each a child workflow
// (the interpreter in batch mode, see RunInput.Batch) whose history holds only its batch.
// Batches rather than continue-as-new: the node's place in the parent run, its incoming
// scope and the other nodes in flight all stay where they are, and each batch's history
// can be read (and replayed) on its own. Batches run one after another, so concurrency
// still bounds the items in flight across the whole map.
type mapKind struct{}

const (
	// changeMapKind versions how a map runs; a later change to batching or item order must
	// bump it so that maps in flight replay as they were recorded.
	changeMapKind = "map-kind"
	// mapBatchSize is the most items one workflow history holds: an http item costs at most
	// about 3 activity and 3 workflow-task events, so a batch stays near 6,000 events.
	mapBatchSize = 1000
	// MaxMapItems is the most items a map takes by default (graph-format.md), and in runs
	// from before serve --max-map-items (map_limit.go).
	MaxMapItems = 10000
	// ErrTypeMapItems is a map whose items are not a list or too many.
	ErrTypeMapItems = "MapItems"
	// ErrTypeMapItem is a map that failed because one of its items did.
	ErrTypeMapItem = "MapItemFailed"
)

type mapConfig struct {
	items *designer.Expr
	body  *planNode // the inline body as a node with the map's id; nil for a graph body
	graph *graphBody
	limit int
	cont  bool
}

// graphBody is a map's body graph as configured; its definition is loaded when the map
// starts.
type graphBody struct {
	graph   string
	version int
	input   *designer.Expr
}

// MapBatch is the part of a map a batch child runs (RunInput.Batch): its items, the index of
// the first, and the parent's scope, so the body reads what it would have read there.
type MapBatch struct {
	Items  []any          `json:"items"`
	Offset int            `json:"offset"`
	Nodes  map[string]any `json:"nodes"`
	Run    map[string]any `json:"run"`
	// Body is the body graph's definition, loaded once by the parent; nil for an inline body.
	Body *designer.Graph `json:"body,omitempty"`
	// Total is how many items the whole map has, for the tasks of its items; 0 in batches
	// started before it was given. Data only: no command depends on it.
	Total int `json:"total,omitempty"`
}

// mapBatchResult is a batch's result, and the part of a map's output the items make.
type mapBatchResult struct {
	Items  []any       `json:"items"`
	Errors []itemError `json:"errors"`
	// Failed is the first item error that stopped the batch (on_item_error fail).
	Failed *itemError `json:"failed,omitempty"`
}

// itemFailed records that item index failed with err; with on_item_error fail it stops the
// batch: no more items start, and those in flight are cancelled.
func (res *mapBatchResult) itemFailed(x *nodeExec, c *mapConfig, index int, err error, cancel workflow.CancelFunc) {
	info := errorInfo(err)
	e := itemError{Index: index, Message: info.Message, Type: info.Type}
	res.Errors = append(res.Errors, e)
	x.itemsDone(0, 1)
	if !c.cont {
		res.Failed = &e
		cancel()
	}
}

type itemError struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
	Type    string `json:"type,omitempty"`
}

func init() { registerKind(designer.KindMap, mapKind{}) }

func (mapKind) compile(n *designer.Node, ps *problemList) any {
	var c designer.MapConfig
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	items, err := designer.CompileExpr(c.Items)
	if err != nil {
		ps.node(n.ID, "config.items", err)
	}
	cfg := &mapConfig{items: items, limit: c.Limit(), cont: c.ContinueOnItemError()}
	if cfg.limit > designer.MaxConcurrency {
		ps.nodef(n.ID, "config.concurrency", "concurrency must be from 1 to %d", designer.MaxConcurrency)
	}
	switch {
	case (c.Node == nil) == (strings.TrimSpace(c.Graph) == ""):
		ps.nodef(n.ID, "config.node", "a map needs one body: node or graph")
	case c.Node != nil:
		cfg.body = compileInlineBody(n.ID, *c.Node, ps)
	default:
		v, err := parseSubgraphVersion(c.Version)
		if err != nil {
			ps.node(n.ID, "config.version", err)
		}
		cfg.graph = &graphBody{graph: c.Graph, version: v, input: optionalExpr(n.ID, "config.input", c.Input, ps)}
	}
	if len(*ps) > 0 {
		return nil
	}
	return cfg
}

// compileInlineBody compiles a map's one-node body as a node of the map's id; its problems
// name fields under config.node.
func compileInlineBody(id string, b designer.InlineNode, ps *problemList) *planNode {
	node := b.AsNode(id)
	var own problemList
	defer func() {
		for _, p := range own {
			p.Field = strings.TrimSuffix("config.node."+p.Field, ".")
			*ps = append(*ps, p)
		}
	}()
	if !slices.Contains(designer.InlineBodyKinds, b.Kind) {
		own.nodef(id, "kind", "a map's node may be %s, not %q", strings.Join(designer.InlineBodyKinds, ", "), b.Kind)
		return nil
	}
	k, _ := kindFor(b.Kind)
	pn := &planNode{node: &node, kind: k, retry: compileRetry(&node), timeout: compileTimeout(&node),
		cfg: &nodeConfig{}}
	_, problems := pn.config()
	own = append(own, problems...)
	if len(own) > 0 {
		return nil
	}
	return pn
}

func (mapKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

// historyEvents: the items' version markers, recorded list and limit, and the batches'
// child workflows; the items themselves are bounded per history by mapBatchSize.
func (mapKind) historyEvents(*designer.Node, any) int { return 4 + 3*workflowTaskEvents }

func (mapKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*mapConfig)
	workflow.GetVersion(ctx, changeMapKind, workflow.DefaultVersion, 1)
	v, err := evalRecorded(ctx, c.items, x.liveScope(), designer.WorkflowBudget)
	if err != nil {
		return nodeResult{}, nonRetryable(ErrTypeExpr, nodeExprErr(x.node.ID, "items", err))
	}
	items, ok := v.([]any)
	if !ok {
		return nodeResult{}, nonRetryable(ErrTypeMapItems,
			fmt.Sprintf("items of node %s is a %s, not a list", x.node.ID, strings.ToUpper(jsonTypeName(v))))
	}
	if err := checkMapItems(ctx, x.node.ID, len(items)); err != nil {
		return nodeResult{}, err
	}
	var loaded *childBody
	if c.graph != nil {
		body, attempts, err := loadBody(ctx, x, c.graph.graph, c.graph.version)
		if err != nil {
			return nodeResult{Attempts: attempts}, err
		}
		loaded = &body
	}
	x.r.nodes[x.idx].Items = &ItemProgress{Total: len(items)}
	var res mapBatchResult
	if len(items) <= mapBatchSize {
		body, cfg := c.bodyFor(loaded)
		res, err = runItems(ctx, x, c, body, cfg, items, 0)
	} else {
		res, err = runBatches(ctx, x, items, loaded)
	}
	if err != nil {
		return nodeResult{}, err
	}
	if f := res.Failed; f != nil {
		return nodeResult{}, nonRetryable(ErrTypeMapItem,
			fmt.Sprintf("item %d of node %s failed: %s", f.Index, x.node.ID, f.Message))
	}
	errs := make([]any, len(res.Errors))
	for i, e := range res.Errors {
		errs[i] = map[string]any{"index": e.Index, "message": e.Message}
	}
	return nodeResult{Attempts: 1, Output: map[string]any{"items": res.Items, "errors": errs,
		"completed": len(items) - len(res.Errors), "failed": len(res.Errors)}}, nil
}

// jsonTypeName names the JSON type of a decoded value.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	default:
		return "number"
	}
}

// itemDone is one item's end, sent from its goroutine to the map's loop.
type itemDone struct {
	i   int
	res nodeResult
	err error
}

// bodyFor is the body each item runs and its config: the inline node, or a child run of
// the loaded body graph.
func (c *mapConfig) bodyFor(loaded *childBody) (*planNode, any) {
	if c.body != nil {
		cfg, _ := c.body.config()
		return c.body, cfg
	}
	return &planNode{kind: graphItemKind{}}, &graphItem{input: c.graph.input, body: loaded}
}

// runItems runs items[i] as item offset+i, at most c.limit at once, and collects the outputs
// in item order. With on_item_error fail, the first failure stops launching and cancels the
// items in flight.
func runItems(ctx workflow.Context, x *nodeExec, c *mapConfig, body *planNode, cfg any, items []any, offset int) (mapBatchResult, error) {
	if fk, ok := useFutures(ctx, body); ok {
		return runItemFutures(ctx, x, c, fk, body, cfg, items, offset)
	}
	res := mapBatchResult{Items: make([]any, len(items)), Errors: []itemError{}}
	ictx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	done := workflow.NewBufferedChannel(ctx, c.limit)
	waiting := 0
	next, inFlight := 0, 0
	for {
		for res.Failed == nil && ctx.Err() == nil && next < len(items) && inFlight < c.limit {
			i := next
			next++
			inFlight++
			ix := x.forItem(body, cfg, offset+i, items[i], &waiting)
			workflow.Go(ictx, func(gctx workflow.Context) {
				r, err := body.kind.execute(gctx, ix)
				done.Send(gctx, itemDone{i: i, res: r, err: err})
			})
		}
		if inFlight == 0 {
			break
		}
		var d itemDone
		done.Receive(ctx, &d)
		inFlight--
		switch {
		case d.err == nil:
			res.Items[d.i] = d.res.Output
			x.itemsDone(1, 0)
		case res.Failed != nil || ctx.Err() != nil:
			// Cancelled because the map is stopping; not an error of its own.
		default:
			res.itemFailed(x, c, offset+d.i, d.err, cancel)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, temporal.NewCanceledError()
	}
	slices.SortFunc(res.Errors, func(a, b itemError) int { return a.Index - b.Index })
	return res, nil
}

// itemsDone counts items of the map that ended, in its progress (in a batch child, the
// child's copy of the map node's; the parent counts whole batches).
func (x *nodeExec) itemsDone(completed, failed int) {
	if p := x.r.nodes[x.idx].Items; p != nil {
		p.Completed += completed
		p.Failed += failed
	}
}

// forItem is the nodeExec of one item: the body's node under the id NODE.INDEX (activity
// ids and tasks are unique per item), with item and index in its scope.
func (x *nodeExec) forItem(body *planNode, cfg any, index int, item any, waiting *int) *nodeExec {
	if body.node == nil { // a graph body: the child runs with the map's options
		body = &planNode{node: x.node, kind: body.kind, retry: x.pn.retry, timeout: x.pn.timeout}
	}
	node := *body.node
	node.ID = fmt.Sprintf("%s.%d", x.node.ID, index)
	return &nodeExec{r: x.r, idx: x.idx, pn: body, node: &node, cfg: cfg,
		item: &itemScope{value: item, index: index, waiting: waiting}}
}

// itemTotal is how many items the map of an item's node has (0 when not known, and for any
// other node), which its task shows as "item 3 of 12".
func (x *nodeExec) itemTotal() int {
	if x.item == nil {
		return 0
	}
	if b := x.r.in.Batch; b != nil {
		return b.Total
	}
	if p := x.r.nodes[x.idx].Items; p != nil {
		return p.Total
	}
	return 0
}

// itemScope is what a map body reads besides the run's scope.
type itemScope struct {
	value   any
	index   int
	waiting *int // the map's items waiting for a person; the node waits while any does
}

// runBatches runs the items in child workflows of mapBatchSize items each, one after
// another, and joins their results.
func runBatches(ctx workflow.Context, x *nodeExec, items []any, loaded *childBody) (mapBatchResult, error) {
	var def *designer.Graph
	if loaded != nil {
		def = &loaded.def
	}
	res := mapBatchResult{Items: make([]any, 0, len(items)), Errors: []itemError{}}
	batchDef := designer.Graph{Format: designer.Format, Name: x.r.plan.graph.Name, Nodes: []designer.Node{*x.node}}
	for b, lo := 0, 0; lo < len(items); b, lo = b+1, lo+mapBatchSize {
		hi := min(lo+mapBatchSize, len(items))
		childID := fmt.Sprintf("%s.%s.batch%d", x.r.in.RunID, x.node.ID, b)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            childID,
			WaitForCancellation:   true,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			StaticSummary:         fmt.Sprintf("items %d to %d of map %s of %s", lo, hi-1, x.node.ID, x.r.in.RunID),
		})
		in := RunInput{RunID: childID, GraphID: x.r.in.GraphID, Version: x.r.in.Version, Definition: batchDef,
			Input: x.r.in.Input, StartedBy: x.r.in.StartedBy,
			Batch: &MapBatch{Items: items[lo:hi], Offset: lo, Nodes: x.r.scopeNodes, Run: x.r.runScope, Body: def, Total: len(items)}}
		var part mapBatchResult
		if err := workflow.ExecuteChildWorkflow(cctx, WorkflowName, in).Get(ctx, &part); err != nil {
			if temporal.IsCanceledError(err) {
				return res, err
			}
			info := errorInfo(err)
			return res, nonRetryable(info.Type, fmt.Sprintf("items %d to %d of node %s: %s", lo, hi-1, x.node.ID, info.Message))
		}
		res.Items = append(res.Items, part.Items...)
		res.Errors = append(res.Errors, part.Errors...)
		if part.Failed != nil {
			// The batch stopped at its first failure: how many completed is not known here.
			x.itemsDone(0, len(part.Errors))
			res.Failed = part.Failed
			return res, nil
		}
		x.itemsDone(len(part.Items)-len(part.Errors), len(part.Errors))
	}
	return res, nil
}

// runBatch is the interpreter in batch mode: node 0 is the map, and only its items run.
func (r *runState) runBatch(ctx workflow.Context) (any, error) {
	if err := r.setupKinds(ctx); err != nil {
		return nil, r.failRun(err)
	}
	pn := &r.plan.nodes[0]
	cfg, problems := pn.config()
	c, ok := cfg.(*mapConfig)
	if len(problems) > 0 || !ok {
		return nil, r.failRun(nonRetryable(ErrTypeDefinition, (&DefinitionError{Problems: problems}).Error()))
	}
	r.nodes[0].StartedAt = r.now(ctx)
	r.setStatus(0, NodeRunning)
	x := &nodeExec{r: r, idx: 0, pn: pn, node: pn.node, cfg: c}
	r.nodes[0].Items = &ItemProgress{Total: len(r.in.Batch.Items)}
	var loaded *childBody
	if c.graph != nil && r.in.Batch.Body != nil {
		loaded = &childBody{graph: c.graph.graph, version: c.graph.version, def: *r.in.Batch.Body}
	}
	body, bcfg := c.bodyFor(loaded)
	res, err := runItems(ctx, x, c, body, bcfg, r.in.Batch.Items, r.in.Batch.Offset)
	r.nodes[0].EndedAt = r.now(ctx)
	if err != nil {
		r.setStatus(0, NodeCancelled)
		r.status = RunCancelled
		return nil, err
	}
	r.setStatus(0, NodeCompleted)
	r.status, r.output = RunCompleted, res
	return res, nil
}

// kindUse is a kind a run uses, by name.
type kindUse struct {
	name string
	kind kind
}

// bodyKind is the kind of a map node's inline body, read from its config without
// compiling it, so that the run sets up what the body needs (an approval's decide update);
// nil for any other node.
func bodyKind(pn *planNode) (k kindUse) {
	if pn.node.Kind != designer.KindMap {
		return k
	}
	var c struct {
		Node *struct {
			Kind string `json:"kind"`
		} `json:"node"`
	}
	if json.Unmarshal(pn.node.Config, &c) != nil || c.Node == nil {
		return k
	}
	if body, ok := kindFor(c.Node.Kind); ok {
		k.name, k.kind = c.Node.Kind, body
	}
	return k
}
