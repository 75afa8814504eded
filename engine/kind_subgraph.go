package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// subgraphKind runs another graph's pinned version as a child run of the same interpreter.
// An activity loads the definition (the workflow never touches the store); the child's
// workflow id is <parent run id>.<node id>, and cancelling the parent cancels the child.
type subgraphKind struct{}

const activityLoadSubgraph = "subgraph.load"

type subgraphConfig struct {
	graph   string
	version int // 0 means the latest version (a definition published before resolving)
	input   *designer.Expr
}

type loadRequest struct {
	GraphID string `json:"graph_id"`
	Version int    `json:"version"`
}

func init() {
	registerKind(designer.KindSubgraph, subgraphKind{})
	registerStoreActivity(activityLoadSubgraph, func(d *Deps) any { return (&subgraphLoader{versions: d.Versions}).load })
}

func (subgraphKind) compile(n *designer.Node, ps *problemList) any {
	var c designer.SubgraphConfig
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	cfg := &subgraphConfig{graph: c.Graph}
	if strings.TrimSpace(c.Graph) == "" {
		ps.nodef(n.ID, "config.graph", "graph is missing")
	}
	if v, err := parseSubgraphVersion(c.Version); err != nil {
		ps.node(n.ID, "config.version", err)
	} else {
		cfg.version = v
	}
	if c.Input != "" {
		e, err := designer.CompileExpr(c.Input)
		if err != nil {
			ps.node(n.ID, "config.input", err)
		}
		cfg.input = e
	}
	return cfg
}

func parseSubgraphVersion(raw json.RawMessage) (int, error) { return designer.ParseGraphVersion(raw) }

func (subgraphKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

// historyEvents: the load activity (3), the store queue's version marker and search
// attribute (2), the child (initiated, started, completed) and three workflow tasks.
func (subgraphKind) historyEvents(*designer.Node, any) int { return 8 + 3*workflowTaskEvents }

func (subgraphKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*subgraphConfig)
	var input any
	if c.input != nil {
		v, err := evalRecorded(ctx, c.input, x.liveScope(), designer.WorkflowBudget)
		if err != nil {
			return nodeResult{}, nonRetryable(ErrTypeExpr, nodeExprErr(x.node.ID, "input", err))
		}
		input = v
	}
	def, attempts, err := runStoreActivity[designer.Graph](ctx, x, activityLoadSubgraph,
		loadRequest{GraphID: c.graph, Version: c.version})
	if err != nil {
		return nodeResult{Attempts: attempts}, err
	}
	childID := x.r.in.RunID + "." + x.node.ID
	out, err := runChild(ctx, x, childID, c.graph, c.version, def, input, fmt.Sprintf("subgraph %s of %s", x.node.ID, x.r.in.RunID))
	if err != nil {
		if temporal.IsCanceledError(err) {
			return nodeResult{Attempts: attempts}, err
		}
		info := errorInfo(err)
		return nodeResult{Attempts: attempts}, nonRetryable(info.Type,
			fmt.Sprintf("subgraph run %s: %s", childID, info.Message))
	}
	return nodeResult{Output: out, Attempts: attempts}, nil
}

// subgraphLoader is the activity that reads a pinned version through VersionSource.
type subgraphLoader struct{ versions VersionSource }

func (l *subgraphLoader) load(ctx context.Context, req loadRequest) (activityResult[designer.Graph], error) {
	var zero activityResult[designer.Graph]
	name := fmt.Sprintf("graph %s version %d", req.GraphID, req.Version)
	if req.Version == 0 {
		name = fmt.Sprintf("graph %s (latest version)", req.GraphID)
	}
	if l.versions == nil {
		return zero, activityFailure(ctx, ErrTypeSubgraph, false, "load %s: no version source is configured", name)
	}
	g, err := l.versions.VersionDefinition(ctx, req.GraphID, req.Version)
	switch {
	case errors.Is(err, ErrVersionNotFound):
		return zero, activityFailure(ctx, ErrTypeSubgraph, false, "%s does not exist", name)
	case err != nil:
		return zero, activityFailure(ctx, ErrTypeSubgraph, true, "load %s: %v", name, err)
	case g == nil:
		return zero, activityFailure(ctx, ErrTypeSubgraph, false, "%s does not exist", name)
	}
	if _, err := compileCached(g); err != nil {
		return zero, activityFailure(ctx, ErrTypeDefinition, false, "%s: %v", name, err)
	}
	if err := checkStartSize(RunInput{Definition: *g}); err != nil {
		return zero, activityFailure(ctx, ErrTypeDefinition, false, "%s: %v", name, err)
	}
	return resultOf(ctx, *g), nil
}
