package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ScheduleRecord is the store's index entry of a Temporal schedule that starts runs of a
// graph; Spec is the schedule as it was asked for (JSON), for pages to show.
type ScheduleRecord struct {
	ID        string          `json:"id"`
	GraphID   string          `json:"graph_id"`
	Spec      json.RawMessage `json:"spec"`
	CreatedBy string          `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// SaveScheduleRecord adds or replaces a schedule's index entry.
func (db *DB) SaveScheduleRecord(ctx context.Context, r ScheduleRecord) error {
	if err := checkGraphID(r.GraphID); err != nil {
		return err
	}
	now := db.nowNanos()
	_, err := db.db.ExecContext(ctx, `INSERT INTO schedules (id, graph_id, spec, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`,
		r.ID, r.GraphID, []byte(r.Spec), r.CreatedBy, now, now)
	if err != nil {
		return fmt.Errorf("save schedule %s: %w", r.ID, err)
	}
	return nil
}

const scheduleColumns = `id, graph_id, spec, created_by, created_at, updated_at`

func scanSchedule(row interface{ Scan(...any) error }) (*ScheduleRecord, error) {
	var r ScheduleRecord
	var spec []byte
	var created, updated int64
	if err := row.Scan(&r.ID, &r.GraphID, &spec, &r.CreatedBy, &created, &updated); err != nil {
		return nil, err
	}
	r.Spec, r.CreatedAt, r.UpdatedAt = spec, fromNanos(created), fromNanos(updated)
	return &r, nil
}

// GetScheduleRecord returns a schedule's index entry, or ErrNotFound.
func (db *DB) GetScheduleRecord(ctx context.Context, id string) (*ScheduleRecord, error) {
	r, err := scanSchedule(db.db.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("there is no schedule %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get schedule %s: %w", id, err)
	}
	return r, nil
}

// ListScheduleRecords returns a graph's schedules, oldest first.
func (db *DB) ListScheduleRecords(ctx context.Context, graphID string) ([]ScheduleRecord, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE graph_id = ? ORDER BY created_at, id`, graphID)
	if err != nil {
		return nil, fmt.Errorf("list schedules of %s: %w", graphID, err)
	}
	defer rows.Close()
	var out []ScheduleRecord
	for rows.Next() {
		r, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("list schedules of %s: %w", graphID, err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// DeleteScheduleRecord drops a schedule's index entry. Errors: ErrNotFound.
func (db *DB) DeleteScheduleRecord(ctx context.Context, id string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM schedules WHERE id = ?`, id)
	return affectedOne(res, err, "delete schedule "+id, func() error { return notFoundf("there is no schedule %q", id) })
}
