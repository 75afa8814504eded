package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Notification delivery states.
const (
	DeliveryPending = "pending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
)

// NotifyDelivery is one notification: to one recipient (a mail address, or the webhook) about
// one event of one task. Key makes it once.
type NotifyDelivery struct {
	Key       string    `json:"key"`
	Channel   string    `json:"channel"`
	Recipient string    `json:"recipient"`
	Event     string    `json:"event"`
	TaskID    string    `json:"task_id"`
	Title     string    `json:"title"`
	State     string    `json:"state"`
	Digest    bool      `json:"digest"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AddNotifyDelivery records a delivery as pending unless its key is known; it returns the
// delivery as stored (so a retried plan sees what was sent already).
func (db *DB) AddNotifyDelivery(ctx context.Context, d NotifyDelivery) (*NotifyDelivery, error) {
	now := db.nowNanos()
	digest := 0
	if d.Digest {
		digest = 1
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO notify_deliveries (key, channel, recipient, event, task_id, title, state, digest,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		d.Key, d.Channel, d.Recipient, d.Event, d.TaskID, clipRunes(d.Title, 300), digest, now, now)
	if err != nil {
		return nil, fmt.Errorf("add notification %s: %w", d.Key, err)
	}
	rows, err := db.queryDeliveries(ctx, `WHERE key = ?`, d.Key)
	if err != nil {
		return nil, fmt.Errorf("add notification %s: %w", d.Key, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("add notification %s: not found after insert", d.Key)
	}
	return &rows[0], nil
}

// MarkNotifyDelivery records an attempt: its state, how many attempts, and the last error.
func (db *DB) MarkNotifyDelivery(ctx context.Context, keys []string, state string, attempts int, errText string) error {
	if len(keys) == 0 {
		return nil
	}
	args := []any{state, attempts, clipRunes(errText, 1000), db.nowNanos()}
	for _, k := range keys {
		args = append(args, k)
	}
	_, err := db.db.ExecContext(ctx, `UPDATE notify_deliveries SET state = ?, attempts = max(attempts, ?), error = ?, updated_at = ?
		WHERE key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("mark notifications: %w", err)
	}
	return nil
}

// ListNotifyDeliveries lists deliveries, newest first; state "" lists all.
func (db *DB) ListNotifyDeliveries(ctx context.Context, state string, limit int) ([]NotifyDelivery, error) {
	if state == "" {
		return db.queryDeliveries(ctx, `ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	}
	return db.queryDeliveries(ctx, `WHERE state = ? ORDER BY created_at DESC, id DESC LIMIT ?`, state, limit)
}

// PendingDigest lists the deliveries waiting for a digest, by recipient then age.
func (db *DB) PendingDigest(ctx context.Context) ([]NotifyDelivery, error) {
	return db.queryDeliveries(ctx, `WHERE state = 'pending' AND digest = 1 ORDER BY recipient, created_at, id LIMIT 10000`)
}

func (db *DB) queryDeliveries(ctx context.Context, where string, args ...any) ([]NotifyDelivery, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT key, channel, recipient, event, task_id, title, state, digest, attempts, error,
		created_at, updated_at FROM notify_deliveries `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	var out []NotifyDelivery
	for rows.Next() {
		var d NotifyDelivery
		var digest int
		var created, updated int64
		if err := rows.Scan(&d.Key, &d.Channel, &d.Recipient, &d.Event, &d.TaskID, &d.Title, &d.State, &digest, &d.Attempts,
			&d.Error, &created, &updated); err != nil {
			return nil, fmt.Errorf("list notifications: %w", err)
		}
		d.Digest, d.CreatedAt, d.UpdatedAt = digest == 1, fromNanos(created), fromNanos(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}
