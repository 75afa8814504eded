package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Traffic is how runs started without a version are sent to a graph's versions: Splits add
// up to 100 percent; Sticky, when set, is an expression over the input whose value keeps
// one key on one version. A graph with no setting (nil from GetTraffic) starts runs on its
// latest version that is not retired.
type Traffic struct {
	GraphID   string         `json:"-"`
	Splits    []TrafficSplit `json:"splits"`
	Sticky    string         `json:"sticky,omitempty"`
	UpdatedBy string         `json:"updated_by,omitempty"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// TrafficSplit is one version's share of new runs, in percent.
type TrafficSplit struct {
	Version int `json:"version"`
	Percent int `json:"percent"`
}

// GetTraffic returns a graph's traffic setting, or nil when it has none.
func (db *DB) GetTraffic(ctx context.Context, graphID string) (*Traffic, error) {
	var splits string
	var at int64
	t := &Traffic{GraphID: graphID}
	err := db.db.QueryRowContext(ctx, `SELECT splits, sticky, updated_by, updated_at FROM graph_traffic WHERE graph_id = ?`, graphID).
		Scan(&splits, &t.Sticky, &t.UpdatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("traffic of %s: %w", graphID, err)
	}
	if err := json.Unmarshal([]byte(splits), &t.Splits); err != nil {
		return nil, fmt.Errorf("traffic of %s: %w", graphID, err)
	}
	t.UpdatedAt = fromNanos(at)
	return t, nil
}

// SetTraffic replaces a graph's traffic setting (checked by the caller); nil splits clear it.
// ErrNotFound for an unknown graph.
func (db *DB) SetTraffic(ctx context.Context, t Traffic) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM graphs WHERE id = ?`, t.GraphID).Scan(&n); err != nil {
			return fmt.Errorf("set traffic of %s: %w", t.GraphID, err)
		}
		if n == 0 {
			return notFoundf("graph %q not found", t.GraphID)
		}
		if len(t.Splits) == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM graph_traffic WHERE graph_id = ?`, t.GraphID)
			return err
		}
		b, err := json.Marshal(t.Splits)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO graph_traffic (graph_id, splits, sticky, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (graph_id) DO UPDATE SET splits = excluded.splits, sticky = excluded.sticky,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			t.GraphID, string(b), t.Sticky, t.UpdatedBy, db.nowNanos())
		if err != nil {
			return fmt.Errorf("set traffic of %s: %w", t.GraphID, err)
		}
		return nil
	})
}
