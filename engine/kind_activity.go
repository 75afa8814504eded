package engine

import "trellis/designer"

// activityConfig is the compiled config of a kind that runs as one activity (http, llm): the
// config as the activity takes it, and what its templates read of the run's scope.
type activityConfig[C any] struct {
	config C
	refs   designer.Refs
}

// compileActivityConfig decodes a node's config and compiles its templates with check,
// which names the field at fault.
func compileActivityConfig[C any, T interface{ references() designer.Refs }](n *designer.Node, ps *problemList, check func(C) (T, string, error)) any {
	var c C
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	t, field, err := check(c)
	if err != nil {
		ps.node(n.ID, field, err)
		return nil
	}
	return &activityConfig[C]{config: c, refs: t.references()}
}
