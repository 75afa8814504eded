package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// BatchEngine is what bulk actions need of the engine (*engine.Engine): the runs a filter
// matches and a durable batch workflow to act on them.
type BatchEngine interface {
	CountMatching(ctx context.Context, f engine.BatchFilter) (int, error)
	MatchingRunIDs(ctx context.Context, f engine.BatchFilter, limit int) ([]string, error)
	StartBatch(ctx context.Context, in engine.BatchInput) (string, error)
	GetBatch(ctx context.Context, id string) (*engine.BatchProgress, error)
	CancelBatch(ctx context.Context, id string) error
}

// BulkRequest is the body of POST /runs/bulk: an action on the runs named, or on every run
// a filter matches.
type BulkRequest struct {
	Action string      `json:"action"`
	RunIDs []string    `json:"run_ids,omitempty"`
	Filter *BulkFilter `json:"filter,omitempty"`
	Params BulkParams  `json:"params"`
	// Limit is the most runs one batch takes; 0 is DefaultMaxBulkRuns.
	Limit int `json:"-"`
}

// BulkFilter picks runs as the runs list does.
type BulkFilter struct {
	Graph         string     `json:"graph,omitempty"`
	Version       int        `json:"version,omitempty"`
	Status        string     `json:"status,omitempty"`
	StartedBefore *time.Time `json:"started_before,omitempty"`
	StartedAfter  *time.Time `json:"started_after,omitempty"`
}

// BulkParams go with the action: a comment recorded on each run (the reason of a cancel);
// for migrate the version To, for rewind the node From; Graph names the graph of the runs
// for those two when run_ids are given (a filter names it itself).
type BulkParams struct {
	Comment string `json:"comment,omitempty"`
	To      int    `json:"to,omitempty"`
	From    string `json:"from,omitempty"`
	Graph   string `json:"graph,omitempty"`
}

// BulkStarted is a batch that started.
type BulkStarted struct {
	BatchID string `json:"batch_id"`
	Total   int    `json:"total"`
}

// DefaultMaxBulkRuns is the most runs one bulk action takes unless configured otherwise.
const DefaultMaxBulkRuns = 10_000

// bulkRoles are the roles that may take each bulk action; the actions that exist in the
// contract but not in this build are refused by name (bulkUnavailable).
var bulkRoles = map[string][]string{
	engine.BatchCancel:    {store.RoleDeveloper},
	engine.BatchPause:     {store.RoleDeveloper},
	engine.BatchResume:    {store.RoleDeveloper},
	engine.BatchRetryHeld: {store.RoleDeveloper},
	engine.BatchMigrate:   {store.RoleDeveloper},
	engine.BatchRewind:    {store.RoleAnalyst, store.RoleDeveloper},
}

var bulkUnavailable = map[string]string{}

var runIDShape = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,200}$`)

// Bulk checks a bulk action whole and hands it to a batch workflow. Refusals, before any run
// is touched: Invalid for an unknown or unavailable action, both or neither of run_ids and
// filter, or more runs than the limit (asking for a narrower filter); Forbidden when the
// user's roles do not allow the action.
func (a *Actions) Bulk(ctx context.Context, req BulkRequest, u *store.User) (*BulkStarted, error) {
	eng, ok := a.engine.(BatchEngine)
	if !ok {
		return nil, errNoEngine("Bulk actions cannot run")
	}
	if msg, ok := bulkUnavailable[req.Action]; ok {
		return nil, bulkInvalid("action", msg)
	}
	roles, ok := bulkRoles[req.Action]
	if !ok {
		return nil, bulkInvalid("action", fmt.Sprintf("%q is not a bulk action; use cancel, pause, resume, retry_held, rewind or migrate.", req.Action))
	}
	if u == nil || !slices.ContainsFunc(roles, u.HasRole) {
		return nil, refusef(Forbidden, "Your role may not %s runs, so none was touched.", req.Action)
	}
	if len(req.Params.Comment) > store.MaxTaskCommentLength {
		return nil, bulkInvalid("params.comment", fmt.Sprintf("The comment is longer than %d characters.", store.MaxTaskCommentLength))
	}
	target, err := a.bulkTarget(ctx, req)
	if err != nil {
		return nil, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultMaxBulkRuns
	}
	ids, err := a.bulkRuns(ctx, eng, req, limit)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, bulkInvalid("filter", "No run matches, so there is nothing to do.")
	}
	id, err := eng.StartBatch(ctx, engine.BatchInput{Action: req.Action, RunIDs: ids, Comment: req.Params.Comment, By: u.Name, Target: target})
	if err != nil {
		return nil, err
	}
	a.log.Info("batch started", slog.String("batch", id), slog.String("action", req.Action), slog.Int("runs", len(ids)), slog.String("by", u.Name))
	return &BulkStarted{BatchID: id, Total: len(ids)}, nil
}

// bulkRuns are the runs a request names, each once, or those its filter matches.
func (a *Actions) bulkRuns(ctx context.Context, eng BatchEngine, req BulkRequest, limit int) ([]string, error) {
	switch {
	case len(req.RunIDs) > 0 && req.Filter != nil:
		return nil, bulkInvalid("filter", "Give either run_ids or filter, not both.")
	case len(req.RunIDs) > 0:
		if len(req.RunIDs) > limit {
			return nil, bulkInvalid("run_ids", fmt.Sprintf("%d runs are more than the %d one bulk action may take.", len(req.RunIDs), limit))
		}
		seen := map[string]bool{}
		var ids []string
		for i, id := range req.RunIDs {
			if !runIDShape.MatchString(id) {
				return nil, bulkInvalid(fmt.Sprintf("run_ids[%d]", i), fmt.Sprintf("%q is not a run id.", id))
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		return ids, nil
	case req.Filter == nil:
		return nil, bulkInvalid("filter", "Give run_ids or a filter.")
	}
	f := engine.BatchFilter{RunFilter: engine.RunFilter{GraphID: req.Filter.Graph, Version: req.Filter.Version, Status: req.Filter.Status},
		StartedAfter: req.Filter.StartedAfter, StartedBefore: req.Filter.StartedBefore}
	n, err := eng.CountMatching(ctx, f)
	if errors.Is(err, engine.ErrBadFilter) {
		return nil, bulkInvalid("filter", "The filter cannot be used: "+err.Error()+".")
	}
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, bulkInvalid("filter", fmt.Sprintf("The filter matches %d runs, more than the %d one bulk action may take; narrow it (a graph, a version, a status, a time window).", n, limit))
	}
	return eng.MatchingRunIDs(ctx, f, limit)
}

// Batch reads a batch's progress.
func (a *Actions) Batch(ctx context.Context, id string) (*engine.BatchProgress, error) {
	eng, ok := a.engine.(BatchEngine)
	if !ok {
		return nil, errNoEngine("Batches cannot be read")
	}
	b, err := eng.GetBatch(ctx, id)
	if errors.Is(err, engine.ErrBatchNotFound) {
		return nil, refusef(NotFound, "There is no batch %q.", id)
	}
	return b, err
}

// CancelBatch stops a batch; the runs it has acted on stay as they are.
func (a *Actions) CancelBatch(ctx context.Context, id, by string) error {
	eng, ok := a.engine.(BatchEngine)
	if !ok {
		return errNoEngine("Batches cannot be cancelled")
	}
	err := eng.CancelBatch(ctx, id)
	if errors.Is(err, engine.ErrBatchNotFound) {
		return refusef(NotFound, "There is no batch %q.", id)
	}
	if err != nil {
		return err
	}
	a.log.Info("batch cancelled", slog.String("batch", id), slog.String("by", by))
	return nil
}

func bulkInvalid(field, msg string) *Error {
	return &Error{Kind: Invalid, Message: msg, Graph: []designer.Problem{{Field: field, Message: msg}}}
}
