package engine

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
)

// The parallel graphs of TestMigrateNodesInFlight: slow and quick wait side by side, after
// follows quick. v2 changes after and adds extra after slow; v3 has no quick.
const (
	parallelV1 = `{"nodes": [{"id": "slow", "kind": "wait", "config": {"duration": "1h"}},
		{"id": "quick", "kind": "wait", "config": {"duration": "1m"}},
		{"id": "after", "kind": "transform", "config": {"value": "'v1 after ' + string(run.version)"}}],
	  "edges": [{"from": "quick", "to": "after"}]}`
	parallelV2 = `{"nodes": [{"id": "extra", "kind": "transform", "config": {"value": "'extra'"}},
		{"id": "slow", "kind": "wait", "config": {"duration": "1h"}},
		{"id": "quick", "kind": "wait", "config": {"duration": "1m"}},
		{"id": "after", "kind": "transform", "config": {"value": "'v2 after ' + string(run.version)"}}],
	  "edges": [{"from": "quick", "to": "after"}, {"from": "slow", "to": "extra"}]}`
	parallelV3 = `{"nodes": [{"id": "slow", "kind": "wait", "config": {"duration": "1h"}},
		{"id": "after", "kind": "transform", "config": {"value": "'v3'"}}],
	  "edges": [{"from": "slow", "to": "after"}]}`
)

// TestMigrateNodesInFlight: a move while two nodes wait (their indexes change: v2 puts a node
// before them) lets both finish and report under their new index; what follows them runs as
// v2 says; an incompatible move in between is rejected and changes nothing.
func TestMigrateNodesInFlight(t *testing.T) {
	a := newApprovalEnv(t)
	type outcome struct {
		rejected, failed error
		res              any
	}
	move := func(at time.Duration, version int, doc string) *outcome {
		o := &outcome{}
		a.at(at, func() {
			a.env.UpdateWorkflow(UpdateMigrate, fmt.Sprintf("m-%d", version), &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { o.rejected = err },
				OnComplete: func(out any, err error) {
					o.res, o.failed = out, err
				},
			}, MigrateRequest{Version: version, Definition: mustGraph(t, doc), By: "dev"})
		})
		return o
	}
	bad := move(10*time.Second, 5, parallelV3)
	good := move(20*time.Second, 4, parallelV2)
	res := a.run(mustGraph(t, parallelV1), nil)
	if res.err != nil {
		t.Fatalf("run failed: %v", res.err)
	}
	if refusalType(bad.rejected) != refusedIncompatible {
		t.Errorf("move to v5 = rejected %v, failed %v", bad.rejected, bad.failed)
	}
	if good.rejected != nil || good.failed != nil {
		t.Fatalf("move to v4 = rejected %v, failed %v", good.rejected, good.failed)
	}
	if got := toJSON(res.out); got != `{"after":"v2 after 4","extra":"extra"}` {
		t.Errorf("output = %s", got)
	}
	st := res.state
	if st.Version != 4 || st.Nodes["slow"].Status != NodeCompleted || st.Nodes["quick"].Status != NodeCompleted || len(st.Operations) != 1 {
		t.Errorf("state = %s", toJSON(st))
	}
}
