package actions

import (
	"fmt"
	"slices"
	"time"

	"trellis/designer"
)

// untilTooFar is the problem of a wait node whose until, known when the run starts (a
// constant, or read from the run's input alone), lies further ahead than maxWait. An until
// that reads other nodes is known only to the run, which fails the node then (engine
// checkUntilCap).
func untilTooFar(nodeID, src string, input any, now time.Time, maxWait time.Duration) *designer.Problem {
	if src == "" {
		return nil
	}
	e, err := designer.CompileExpr(src)
	if err != nil {
		return nil // the definition's check reports it
	}
	refs := e.Refs()
	if len(refs.Nodes) > 0 || len(refs.Secrets) > 0 || slices.ContainsFunc(refs.Roots, func(r string) bool { return r != "input" }) {
		return nil
	}
	v, err := e.Eval(map[string]any{"input": input})
	if err != nil {
		return nil // the run reports it, naming the node
	}
	var at time.Time
	switch x := v.(type) {
	case time.Time:
		at = x
	case string:
		if at, err = time.Parse(time.RFC3339Nano, x); err != nil {
			return nil
		}
	default:
		return nil
	}
	if at.Sub(now) <= maxWait {
		return nil
	}
	return &designer.Problem{Node: nodeID, Field: "config.until",
		Message: fmt.Sprintf("waits until %s, longer from now than this server allows (%s)", at.UTC().Format(time.RFC3339), maxWait)}
}
