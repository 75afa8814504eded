package engine

import (
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// changeMapFutures is the change that runs a map's transform items as futures the map
// waits on itself, rather than a coroutine per item. The SDK runs every blocked coroutine
// of a workflow once per pass of its dispatcher, and a coroutine that blocks again pays for
// a stack walk (the SDK's check that it is not blocking while panicking): with a coroutine
// per item in flight, each item's end cost about as many of those as there were items in
// flight, and a map of 10,000 items at concurrency 100 spent half its CPU on them. The
// commands are the same (one local activity per item, started in item order); maps that
// started before it replay on the coroutines.
const changeMapFutures = "map-item-futures"

// futureKind is a body kind whose item is one future: it starts the item's work and says
// how its result becomes the item's result.
type futureKind interface {
	startItem(ctx workflow.Context, x *nodeExec) workflow.Future
	itemResult(ctx workflow.Context, f workflow.Future) (nodeResult, error)
}

// useFutures says whether a map's items run as futures: for a body kind that can, in a run
// that started the map after the change.
func useFutures(ctx workflow.Context, body *planNode) (futureKind, bool) {
	fk, ok := body.kind.(futureKind)
	if !ok || workflow.GetVersion(ctx, changeMapFutures, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil, false
	}
	return fk, true
}

// itemFuture is an item in flight: its index in the items and its future.
type itemFuture struct {
	i int
	f workflow.Future
}

// runItemFutures is runItems for a futureKind body: the same launching (in item order, at
// most c.limit at once, none after a failure that stops the map), counting and collecting,
// with the map's own coroutine waiting on the items' futures. Items that end together are
// taken in the order they were started.
func runItemFutures(ctx workflow.Context, x *nodeExec, c *mapConfig, fk futureKind, body *planNode, cfg any, items []any, offset int) (mapBatchResult, error) {
	res := mapBatchResult{Items: make([]any, len(items)), Errors: []itemError{}}
	ictx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	waiting := 0
	next := 0
	inFlight := make([]itemFuture, 0, c.limit)
	for {
		for res.Failed == nil && ctx.Err() == nil && next < len(items) && len(inFlight) < c.limit {
			ix := x.forItem(body, cfg, offset+next, items[next], &waiting)
			inFlight = append(inFlight, itemFuture{i: next, f: fk.startItem(ictx, ix)})
			next++
		}
		if len(inFlight) == 0 {
			break
		}
		if !slices.ContainsFunc(inFlight, func(it itemFuture) bool { return it.f.IsReady() }) {
			sel := workflow.NewSelector(ctx)
			for _, it := range inFlight {
				sel.AddFuture(it.f, func(workflow.Future) {})
			}
			sel.Select(ctx)
		}
		kept := inFlight[:0]
		for _, it := range inFlight {
			if !it.f.IsReady() {
				kept = append(kept, it)
				continue
			}
			r, err := fk.itemResult(ctx, it.f)
			switch {
			case err == nil:
				res.Items[it.i] = r.Output
				x.itemsDone(1, 0)
			case res.Failed != nil || ctx.Err() != nil:
				// Cancelled because the map is stopping; not an error of its own.
			default:
				res.itemFailed(x, c, offset+it.i, err, cancel)
			}
		}
		inFlight = kept
	}
	if err := ctx.Err(); err != nil {
		return res, temporal.NewCanceledError()
	}
	slices.SortFunc(res.Errors, func(a, b itemError) int { return a.Index - b.Index })
	return res, nil
}
