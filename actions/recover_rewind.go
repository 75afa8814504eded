package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"trellis/designer"
	"trellis/engine"
)

// RewindRequest asks to rewind run RunID from node From. Version is "same" (or empty),
// "latest" or a version number. Input, when set, replaces the run's input; Outputs correct
// the outputs of carried-over nodes (JSON each).
type RewindRequest struct {
	RunID   string
	From    string
	Version string
	Input   json.RawMessage
	Outputs map[string]json.RawMessage
	By      string
}

// Rewound is a rewind that started: the new run and the plan it follows.
type Rewound struct {
	RunID string
	Plan  *engine.RewindPlan
}

// rewindTarget resolves the version a rewind runs on: nil for the run's own definition
// ("same"), else the definition of the latest or the numbered version (not retired), and
// the input schema of the version used.
func (a *Actions) rewindTarget(ctx context.Context, eng Recoverer, runID, version string) (*designer.Graph, int, *designer.Schema, error) {
	run, err := eng.GetRun(ctx, runID)
	if err != nil {
		return nil, 0, nil, err
	}
	asked := 0
	switch version = strings.TrimSpace(version); version {
	case "", "same":
		asked = run.Version
	case "latest":
	default:
		n, err := strconv.Atoi(version)
		if err != nil || n < 1 {
			return nil, 0, nil, refusef(BadRequest, "version %q is not same, latest or a version number.", version)
		}
		asked = n
	}
	if run.Draft {
		return nil, 0, nil, refusef(Conflict, "Run %s is a test run of a draft; it cannot be rewound.", runID)
	}
	v, err := a.PickVersion(ctx, run.Graph, asked)
	if err != nil {
		return nil, 0, nil, err
	}
	def, err := ParseVersion(v)
	if err != nil {
		return nil, 0, nil, err
	}
	sch, err := InputSchema(v, def)
	if err != nil {
		return nil, 0, nil, err
	}
	if version == "" || version == "same" {
		return nil, v.Version, sch, nil
	}
	return def, v.Version, sch, nil
}

// PreviewRewind says what a rewind would reuse and run again, and why.
func (a *Actions) PreviewRewind(ctx context.Context, eng Recoverer, runID, from, version string) (*engine.RewindPlan, error) {
	target, n, _, err := a.rewindTarget(ctx, eng, runID, version)
	if err != nil {
		return nil, err
	}
	p, err := eng.PreviewRewind(ctx, runID, from, target, n)
	if err != nil {
		return nil, recoveryRefusal(runID, err)
	}
	return p, nil
}

// Rewind starts the rewound run. Refusals: BadRequest for a correction that is not JSON
// (naming it); Invalid for a from missing in the target version, a correction of a node not
// carried over, or an input that does not fit the version's schema; Conflict for a run
// still going; NotFound for an unknown run or version.
func (a *Actions) Rewind(ctx context.Context, eng Recoverer, req RewindRequest) (*Rewound, error) {
	target, n, sch, err := a.rewindTarget(ctx, eng, req.RunID, req.Version)
	if err != nil {
		return nil, err
	}
	er := engine.RewindRequest{RunID: req.RunID, From: req.From, Target: target, Version: n, By: req.By}
	if len(req.Input) > 0 {
		in, err := jsonField("input", req.Input, MaxRunInputBytes)
		if err != nil {
			return nil, err
		}
		if errs := CheckInput(sch, in); len(errs) > 0 {
			return nil, &Error{Kind: Invalid, Message: fmt.Sprintf("The corrected input does not fit the input schema of version %d.", n), Input: errs}
		}
		er.HasInput, er.Input = true, in
	}
	ids := make([]string, 0, len(req.Outputs))
	for id := range req.Outputs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		v, err := jsonField("outputs."+id, req.Outputs[id], MaxSkipOutputBytes)
		if err != nil {
			return nil, err
		}
		if er.Outputs == nil {
			er.Outputs = map[string]any{}
		}
		er.Outputs[id] = v
	}
	id, p, err := eng.Rewind(ctx, er)
	if err != nil {
		return nil, recoveryRefusal(req.RunID, err)
	}
	return &Rewound{RunID: id, Plan: p}, nil
}

// jsonField decodes one JSON value the user typed, refusing it as a bad request that names
// the field when it is not JSON.
func jsonField(field string, raw json.RawMessage, limit int) (any, error) {
	if len(raw) > limit {
		return nil, &Error{Kind: TooLarge, Message: fmt.Sprintf("%s: at most %d bytes of JSON.", field, limit)}
	}
	v, err := skipOutput(raw)
	if err != nil {
		return nil, &Error{Kind: BadRequest, Message: field + ": this is not JSON.",
			Decision: []designer.DecisionProblem{{Field: field, Message: "not JSON"}}}
	}
	return v, nil
}
