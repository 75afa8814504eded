package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// changeRewind: a run started by a rewind carries over the recorded outputs of the nodes
// it reuses (RunInput.Rewind) instead of running them. Only rewound runs record it.
const changeRewind = "rewind-carry-over"

// RewindFrom is how a rewound run started: the run and node it was rewound from, who asked,
// and the outputs it carries over (corrected ones marked).
type RewindFrom struct {
	RunID   string        `json:"run_id"`
	Node    string        `json:"node"`
	By      string        `json:"by"`
	Carried []CarriedNode `json:"carried"`
	// InputCorrected says the operator replaced the run's input; RecordedInput was the old.
	InputCorrected bool `json:"input_corrected,omitempty"`
	RecordedInput  any  `json:"recorded_input,omitempty"`
}

// CarriedNode is one node's recorded output, carried over by a rewind.
type CarriedNode struct {
	ID        string `json:"id"`
	Port      string `json:"port"`
	Output    any    `json:"output"`
	Corrected bool   `json:"corrected,omitempty"`
	// Recorded is the output the old run recorded, when Output corrects it.
	Recorded any `json:"recorded,omitempty"`
}

// Correction says who corrected a carried-over output (or a rewound run's input) and what
// the old run had recorded.
type Correction struct {
	By       string `json:"by"`
	Recorded any    `json:"recorded"`
}

// RewoundFrom links a rewound run to the run and node it came from (api.md).
type RewoundFrom struct {
	RunID string `json:"run_id"`
	Node  string `json:"node"`
}

// carryOver marks the carried nodes completed with their recorded outputs, without running
// them, and returns them in document order for the caller to propagate.
func (r *runState) carryOver(ctx workflow.Context) []int {
	rw := r.in.Rewind
	if rw == nil || workflow.GetVersion(ctx, changeRewind, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	var carried []int
	now := r.now(ctx)
	for _, c := range rw.Carried {
		i, ok := r.plan.index[c.ID]
		if !ok || r.decided[i] {
			continue
		}
		n := &r.nodes[i]
		n.Output, n.Port, n.ReusedFrom = c.Output, c.Port, rw.RunID
		if c.Corrected {
			n.Corrected = &Correction{By: rw.By, Recorded: c.Recorded}
		}
		n.StartedAt, n.EndedAt = now, now
		r.decided[i] = true
		r.setStatus(i, NodeCompleted)
		carried = append(carried, i)
	}
	sort.Ints(carried)
	return carried
}

// RewindPlan says what a rewind reuses and what it runs again, and why.
type RewindPlan struct {
	Version int      `json:"version"`
	Reused  []string `json:"reused"`
	Rerun   []string `json:"rerun"`
	// Why says, for each node run again, why it is not reused.
	Why map[string]string `json:"why"`
}

// planRewind decides, for a rewind of old (its definition and node states) from node from
// onto target, which nodes are carried over: those that are not from or downstream of it,
// that completed in old, and whose id, kind and config target has unchanged. A node
// downstream of one that runs again runs again too.
func planRewind(oldDef *designer.Graph, nodes map[string]NodeState, oldRun, from string, target *designer.Graph, version int) (*RewindPlan, error) {
	if _, ok := target.NodeByID(from); !ok {
		return nil, &RecoveryError{Reason: RecoveryInvalid, Message: fmt.Sprintf("node %s is not in version %d of the graph", from, version)}
	}
	why := map[string]string{from: "the rewind starts here"}
	for _, n := range target.Nodes {
		if n.ID == from {
			continue
		}
		old, ok := oldDef.NodeByID(n.ID)
		st := nodes[n.ID]
		switch {
		case !ok:
			why[n.ID] = fmt.Sprintf("it is new in version %d", version)
		case old.Kind != n.Kind:
			why[n.ID] = fmt.Sprintf("its kind changed (%s → %s)", old.Kind, n.Kind)
		case !sameJSON(old.Config, n.Config):
			why[n.ID] = fmt.Sprintf("its config changed in version %d", version)
		case st.Status != NodeCompleted:
			why[n.ID] = fmt.Sprintf("it was %s in run %s", orPending(st.Status), oldRun)
		}
	}
	// Everything downstream of a node that runs again runs again, in document order.
	out := map[string][]string{}
	for _, e := range target.Edges {
		out[e.From] = append(out[e.From], e.To)
	}
	var work []string
	for _, n := range target.Nodes {
		if _, ok := why[n.ID]; ok {
			work = append(work, n.ID)
		}
	}
	for len(work) > 0 {
		id := work[0]
		work = work[1:]
		for _, to := range out[id] {
			if _, ok := why[to]; !ok {
				why[to] = fmt.Sprintf("it runs after %s, which runs again", id)
				work = append(work, to)
			}
		}
	}
	p := &RewindPlan{Version: version, Reused: []string{}, Rerun: []string{}, Why: why}
	for _, n := range target.Nodes {
		if _, ok := why[n.ID]; ok {
			p.Rerun = append(p.Rerun, n.ID)
		} else {
			p.Reused = append(p.Reused, n.ID)
		}
	}
	return p, nil
}

func orPending(s string) string {
	if s == "" {
		return NodePending
	}
	return s
}

// sameJSON compares two configs as JSON values, ignoring layout.
func sameJSON(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	if bytes.Equal(ca.Bytes(), cb.Bytes()) {
		return true
	}
	// Same values with keys in another order are the same config.
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// carriedNodes builds the carried outputs of a plan, with corrections applied; a correction
// for a node the plan does not reuse is refused.
func carriedNodes(p *RewindPlan, nodes map[string]NodeState, outputs map[string]any) ([]CarriedNode, error) {
	ids := make([]string, 0, len(outputs))
	for id := range outputs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !slices.Contains(p.Reused, id) {
			reason := p.Why[id]
			if reason == "" {
				reason = "it is not in the graph"
			}
			return nil, &RecoveryError{Reason: RecoveryInvalid,
				Message: fmt.Sprintf("node %s is not carried over (%s), so its output cannot be corrected", id, reason)}
		}
	}
	carried := make([]CarriedNode, 0, len(p.Reused))
	for _, id := range p.Reused {
		st := nodes[id]
		c := CarriedNode{ID: id, Port: st.Port, Output: st.Output}
		if c.Port == "" {
			c.Port = designer.PortOut
		}
		if v, ok := outputs[id]; ok {
			c.Output, c.Corrected, c.Recorded = v, true, st.Output
		}
		carried = append(carried, c)
	}
	return carried, nil
}
