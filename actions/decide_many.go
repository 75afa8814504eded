package actions

import (
	"context"
	"errors"
	"fmt"

	"trellis/store"
)

// MaxDecideMany is the most tasks one request may decide at once.
const MaxDecideMany = 100

// DecideManyRequest is one decision for several tasks: the same outcome, data and comment.
type DecideManyRequest struct {
	TaskIDs []string
	DecideRequest
}

// refusalCodes are the codes of the refusals that concern one task (the API's error codes);
// any other kind stops DecideMany.
var refusalCodes = map[Kind]string{Invalid: "invalid", Conflict: "conflict", Forbidden: "forbidden", NotFound: "not_found"}

// DecideRefusal is a task of a DecideMany that was not decided, and why.
type DecideRefusal struct {
	TaskID  string `json:"task_id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// DecideManyResult says which tasks were decided and which were refused.
type DecideManyResult struct {
	Decided []string        `json:"decided"`
	Refused []DecideRefusal `json:"refused"`
}

// DecideMany decides each task as Decide would, one after another: each decision is its own
// validated update, taken at most once by its run, and a refusal of one (decided by someone
// else, not the user's, not fitting its form) does not stop the others. Invalid for no tasks,
// more than MaxDecideMany, or a task named twice; any other error stops it and is returned
// with what was done so far.
func (a *Actions) DecideMany(ctx context.Context, req DecideManyRequest) (DecideManyResult, error) {
	res := DecideManyResult{Decided: []string{}, Refused: []DecideRefusal{}}
	switch n := len(req.TaskIDs); {
	case n == 0:
		return res, &Error{Kind: Invalid, Message: "Choose at least one task to decide."}
	case n > MaxDecideMany:
		return res, &Error{Kind: Invalid, Message: fmt.Sprintf("At most %d tasks can be decided at once; %d were chosen.", MaxDecideMany, n)}
	}
	seen := map[string]bool{}
	for _, id := range req.TaskIDs {
		if seen[id] {
			return res, &Error{Kind: Invalid, Message: fmt.Sprintf("Task %s is named twice.", id)}
		}
		seen[id] = true
	}
	for _, id := range req.TaskIDs {
		one := req.DecideRequest
		one.TaskID = id
		_, err := a.Decide(ctx, one)
		var ae *Error
		switch {
		case err == nil:
			res.Decided = append(res.Decided, id)
		case errors.As(err, &ae) && refusalCodes[ae.Kind] != "":
			res.Refused = append(res.Refused, DecideRefusal{TaskID: id, Code: refusalCodes[ae.Kind], Message: ae.Message})
		case errors.Is(err, store.ErrNotFound):
			res.Refused = append(res.Refused, DecideRefusal{TaskID: id, Code: "not_found", Message: "There is no such task."})
		default:
			return res, err
		}
	}
	return res, nil
}
