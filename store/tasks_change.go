package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The changes of a task after it is created: claims, escalation, the decision and
// cancellation. Each runs in one immediate transaction and records an event.

// taskState reads what the claim and close rules need, inside a transaction.
func taskState(ctx context.Context, tx *sql.Tx, where string, args ...any) (id int64, state, assignee, claimedBy, decidedBy string, due sql.NullInt64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id, state, assignee, claimed_by, decided_by, due_at FROM tasks WHERE `+where, args...).
		Scan(&id, &state, &assignee, &claimedBy, &decidedBy, &due)
	return
}

// ClaimTask lets a member of a task's group take it, so that the others see it is being
// handled. Claiming a task one holds already is fine. Errors: ErrNotFound; ErrConflict when
// the task is closed or someone else holds it; ErrForbidden when u is not in the group or
// the task is assigned to a single user.
func (db *DB) ClaimTask(ctx context.Context, id string, u *User) error {
	n, err := parseTaskID(id)
	if err != nil {
		return err
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, state, assignee, claimedBy, decidedBy, _, err := taskState(ctx, tx, `id = ?`, n)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("task %s not found", id)
		}
		if err != nil {
			return err
		}
		if state != TaskOpen {
			return closedConflict(id, state, decidedBy)
		}
		kind, group, err := ParseAssignee(assignee)
		if err != nil {
			return err
		}
		switch {
		case kind != AssigneeGroup:
			return forbiddenf("task %s is assigned to one person; only group tasks can be claimed", id)
		case !u.InGroup(group):
			return forbiddenf("only members of group %s can claim task %s", group, id)
		case claimedBy == u.Name:
			return nil
		case claimedBy != "":
			return conflictf("task %s is claimed by %s already", id, claimedBy)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET claimed_by = ? WHERE id = ?`, u.Name, n); err != nil {
			return err
		}
		return addEvent(ctx, tx, n, db.nowNanos(), TaskEvent{Kind: TaskEventClaimed, Actor: u.Name})
	})
	return wrapTaskErr("claim task "+id, err)
}

// UnclaimTask gives a claimed task back to its group. Only its claimer (or an admin) may; a
// task nobody holds is left as it is.
func (db *DB) UnclaimTask(ctx context.Context, id string, u *User) error {
	n, err := parseTaskID(id)
	if err != nil {
		return err
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, state, _, claimedBy, decidedBy, _, err := taskState(ctx, tx, `id = ?`, n)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("task %s not found", id)
		}
		if err != nil {
			return err
		}
		switch {
		case state != TaskOpen:
			return closedConflict(id, state, decidedBy)
		case claimedBy == "":
			return nil
		case claimedBy != u.Name && !u.HasRole(RoleAdmin):
			return forbiddenf("task %s is claimed by %s; only they can give it back", id, claimedBy)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET claimed_by = '' WHERE id = ?`, n); err != nil {
			return err
		}
		return addEvent(ctx, tx, n, db.nowNanos(), TaskEvent{Kind: TaskEventUnclaimed, Actor: u.Name, From: "user:" + claimedBy})
	})
	return wrapTaskErr("unclaim task "+id, err)
}

func closedConflict(id, state, decidedBy string) error {
	if state == TaskCancelled {
		return conflictf("task %s was cancelled with its run", id)
	}
	return conflictf("task %s was already decided by %s", id, decidedBy)
}

// wrapTaskErr keeps the user-facing errors as they are and wraps the internal ones.
func wrapTaskErr(what string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrInvalid) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Escalate reassigns an open task, with a new due time (nil for none), and drops its claim. A
// repeated call with the same values (a retried activity) changes nothing. A closed task is
// left as it is: the workflow decides, and a late escalation must not fail it.
func (db *DB) Escalate(ctx context.Context, runID, nodeID, newAssignee string, newDue *time.Time) error {
	if _, _, err := ParseAssignee(newAssignee); err != nil {
		return err
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		id, state, assignee, _, _, due, err := taskState(ctx, tx, `run_id = ? AND node_id = ?`, runID, nodeID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("run %s has no task for node %s", runID, nodeID)
		}
		if err != nil {
			return err
		}
		sameDue := (newDue == nil && !due.Valid) || (newDue != nil && due.Valid && due.Int64 == newDue.UnixNano())
		if state != TaskOpen || (assignee == newAssignee && sameDue) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET assignee = ?, due_at = ?, claimed_by = '' WHERE id = ?`,
			newAssignee, nanosOrNil(newDue), id); err != nil {
			return err
		}
		return addEvent(ctx, tx, id, db.nowNanos(), TaskEvent{Kind: TaskEventEscalated, Actor: SystemActor,
			From: assignee, To: newAssignee, DueAt: newDue})
	})
	return wrapTaskErr(fmt.Sprintf("escalate task of %s/%s", runID, nodeID), err)
}

// CloseTask records the workflow's decision. It is idempotent: a task already closed keeps
// its first decision (the workflow decides once; a retry brings the same one). A decision by
// SystemActor is recorded as made by the due rule.
func (db *DB) CloseTask(ctx context.Context, runID, nodeID string, d TaskDecision) error {
	var data []byte
	if s := strings.TrimSpace(string(d.Data)); s != "" && s != "null" {
		if !json.Valid(d.Data) {
			return invalidf("the decision data is not valid JSON")
		}
		data = []byte(s)
	}
	if d.DecidedAt.IsZero() {
		d.DecidedAt = db.now()
	}
	d.Comment = clipRunes(d.Comment, MaxTaskCommentLength)
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		id, state, _, _, _, _, err := taskState(ctx, tx, `run_id = ? AND node_id = ?`, runID, nodeID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("run %s has no task for node %s", runID, nodeID)
		}
		if err != nil || state != TaskOpen {
			return err
		}
		at := d.DecidedAt.UnixNano()
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'done', outcome = ?, data = ?, comment = ?, decided_by = ?, decided_at = ?
			WHERE id = ?`, d.Outcome, data, d.Comment, d.DecidedBy, at, id); err != nil {
			return err
		}
		kind := TaskEventDecided
		if d.DecidedBy == SystemActor {
			kind = TaskEventAutoDecided
		}
		return addEvent(ctx, tx, id, at, TaskEvent{Kind: kind, Actor: d.DecidedBy, Outcome: d.Outcome})
	})
	return wrapTaskErr(fmt.Sprintf("close task of %s/%s", runID, nodeID), err)
}

// CancelTask closes an open task whose run stopped (cancelled or failed) without a decision,
// so that it leaves the inbox. A closed or missing task is fine.
func (db *DB) CancelTask(ctx context.Context, runID, nodeID string) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		id, state, _, _, _, _, err := taskState(ctx, tx, `run_id = ? AND node_id = ?`, runID, nodeID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && state != TaskOpen) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'cancelled' WHERE id = ?`, id); err != nil {
			return err
		}
		return addEvent(ctx, tx, id, db.nowNanos(), TaskEvent{Kind: TaskEventCancelled, Actor: SystemActor})
	})
	return wrapTaskErr(fmt.Sprintf("cancel task of %s/%s", runID, nodeID), err)
}
