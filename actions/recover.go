package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"trellis/designer"
	"trellis/engine"
)

// Recoverer is what the recovery actions need of the engine (*engine.Engine implements it).
// Refusals are *engine.RecoveryError.
type Recoverer interface {
	ActOnIncident(ctx context.Context, runID string, req engine.IncidentRequest) (engine.NodeState, error)
	PauseRun(ctx context.Context, runID, by, comment string) error
	ResumeRun(ctx context.Context, runID, by, comment string) error
	GetRun(ctx context.Context, runID string) (*engine.Run, error)
	PreviewRewind(ctx context.Context, runID, from string, target *designer.Graph, version int) (*engine.RewindPlan, error)
	Rewind(ctx context.Context, req engine.RewindRequest) (string, *engine.RewindPlan, error)
}

// MaxSkipOutputBytes bounds the output an operator types in for a skipped node.
const MaxSkipOutputBytes = 256 << 10

// IncidentAction is an operator's retry, skip or fail of a held node. Output (skip only) is
// JSON as typed; nil means none was given.
type IncidentAction struct {
	RunID   string
	Node    string
	Action  string
	Output  json.RawMessage
	Port    string
	Comment string
	By      string
}

// ActOnIncident checks the action and hands it to the run, which takes it once and records
// it. Refusals: BadRequest for a skip without an output or with one that is not JSON
// (naming the field "output") or a comment too long; Conflict when the node is not held or
// the run has ended; Invalid for a port the node lacks; NotFound for an unknown run or node.
func ActOnIncident(ctx context.Context, eng Recoverer, a IncidentAction) (engine.NodeState, error) {
	req := engine.IncidentRequest{Node: a.Node, Action: a.Action, Port: strings.TrimSpace(a.Port),
		Comment: strings.TrimSpace(a.Comment), By: a.By}
	if err := checkComment(req.Comment); err != nil {
		return engine.NodeState{}, err
	}
	if a.Action == engine.ActionSkip {
		out, err := skipOutput(a.Output)
		if err != nil {
			return engine.NodeState{}, err
		}
		req.Output = out
	}
	ctx, cancel := context.WithTimeout(ctx, DecideTimeout)
	defer cancel()
	ns, err := eng.ActOnIncident(ctx, a.RunID, req)
	if err != nil {
		return ns, recoveryRefusal(a.RunID, err)
	}
	return ns, nil
}

// PauseOrResume pauses (pause true) or resumes a run. Refusals: Conflict when the run is
// already so, or has ended; NotFound for an unknown run.
func PauseOrResume(ctx context.Context, eng Recoverer, runID string, pause bool, by, comment string) error {
	comment = strings.TrimSpace(comment)
	if err := checkComment(comment); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, DecideTimeout)
	defer cancel()
	act := eng.ResumeRun
	if pause {
		act = eng.PauseRun
	}
	if err := act(ctx, runID, by, comment); err != nil {
		return recoveryRefusal(runID, err)
	}
	return nil
}

func checkComment(c string) error {
	if n := utf8.RuneCountInString(c); n > designer.MaxCommentLength || !utf8.ValidString(c) {
		return &Error{Kind: BadRequest, Message: fmt.Sprintf("The comment must be valid text of at most %d characters.", designer.MaxCommentLength),
			Decision: []designer.DecisionProblem{{Field: "comment", Message: "too long or not text"}}}
	}
	return nil
}

// skipOutput decodes the output of a skip: required, JSON, bounded.
func skipOutput(raw json.RawMessage) (any, error) {
	bad := func(msg string) error {
		return &Error{Kind: BadRequest, Message: "output: " + msg,
			Decision: []designer.DecisionProblem{{Field: "output", Message: msg}}}
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return nil, bad("a skipped node needs an output: give it as JSON (null is one).")
	case len(raw) > MaxSkipOutputBytes:
		return nil, &Error{Kind: TooLarge, Message: fmt.Sprintf("output: at most %d bytes of JSON.", MaxSkipOutputBytes)}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, bad("this is not JSON. Quote text (\"like this\"), or give an object such as {\"ok\": true}.")
	}
	return normalizeNumbers(v), nil
}

// normalizeNumbers turns json.Number into float64 or int64 as the engine's JSON would.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// recoveryRefusal turns the run's answer into a refusal of the kind it is.
func recoveryRefusal(runID string, err error) error {
	return engineRefusal(err, "The run did not confirm the action in time. It may still take it: reload the run before acting again.",
		func(err error) error { return fmt.Errorf("run %s: %w", runID, err) })
}

// refusalKinds are the kinds of the reasons a run gives for refusing a decision or a
// recovery action (engine.Decision* and engine.Recovery*: "invalid" and "no_run" are both's).
var refusalKinds = map[string]Kind{
	engine.DecisionForbidden:  Forbidden,
	engine.DecisionDecided:    Conflict,
	engine.DecisionNotWaiting: Conflict,
	engine.DecisionInvalid:    Invalid,
	engine.DecisionNoRun:      NotFound,
	engine.RecoveryConflict:   Conflict,
	engine.RecoveryNoNode:     NotFound,
}

// engineRefusal turns a run's refusal (an engine.DecisionError or RecoveryError) into an
// Error of its kind, a run that did not answer in time into Unavailable saying late, and
// anything else into wrap(err).
func engineRefusal(err error, late string, wrap func(error) error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: Unavailable, Err: err, Message: late}
	}
	var reason, msg string
	var problems []designer.DecisionProblem
	var de *engine.DecisionError
	var re *engine.RecoveryError
	switch {
	case errors.As(err, &de):
		reason, msg, problems = de.Reason, de.Message, de.Problems
	case errors.As(err, &re):
		reason, msg = re.Reason, re.Message
	default:
		return wrap(err)
	}
	kind, ok := refusalKinds[reason]
	if !ok {
		return wrap(err)
	}
	return &Error{Kind: kind, Message: sentenceOf(msg), Decision: problems, Err: err}
}

func sentenceOf(msg string) string {
	msg = strings.TrimSuffix(msg, ".") + "."
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	return strings.ToUpper(string(r)) + msg[n:]
}
