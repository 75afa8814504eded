package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"trellis/internal/hookauth"
)

// Hook auth modes: how a delivery to POST /hooks/{id} proves it knows the secret
// (internal/hookauth checks it).
const (
	HookAuthHMAC   = hookauth.HMAC   // X-Trellis-Signature: sha256=HEX of the body
	HookAuthBearer = hookauth.Bearer // Authorization: Bearer SECRET
)

// HookKeyTTL is how long an Idempotency-Key is remembered.
const HookKeyTTL = 24 * time.Hour

// hookDeliveriesKept is how many deliveries of a hook are kept for the Triggers tab.
const hookDeliveriesKept = 50

// Hook starts runs of a graph from outside. Its secret is the Trellis secret SecretName.
type Hook struct {
	ID         string     `json:"id"`
	GraphID    string     `json:"graph_id"`
	Name       string     `json:"name"`
	Auth       string     `json:"auth"`
	Version    int        `json:"version,omitempty"`
	SecretName string     `json:"-"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// Enabled reports whether the hook takes deliveries.
func (h *Hook) Enabled() bool { return h.DisabledAt == nil }

// HookDelivery is one delivery to a hook: its answer and the run it started.
type HookDelivery struct {
	At      time.Time `json:"at"`
	Status  int       `json:"status"`
	RunID   string    `json:"run_id,omitempty"`
	Message string    `json:"message,omitempty"`
}

var hookIDPattern = regexp.MustCompile(`^hk-[0-9a-f]{20}$`)

// ValidHookID reports whether id looks like a hook id, so that lookups of junk stop early.
func ValidHookID(id string) bool { return hookIDPattern.MatchString(id) }

// ValidateHook checks a hook's name, auth and version before it is stored.
func ValidateHook(h Hook) error {
	name := strings.TrimSpace(h.Name)
	switch {
	case name == "":
		return invalidf("name the hook, e.g. after the system that calls it")
	case utf8.RuneCountInString(name) > 100:
		return invalidf("a hook name may be at most 100 characters")
	case h.Auth != HookAuthHMAC && h.Auth != HookAuthBearer:
		return invalidf("auth must be %s or %s", HookAuthHMAC, HookAuthBearer)
	case h.Version < 0:
		return invalidf("version must be a version number, or left out for the latest")
	}
	return checkGraphID(h.GraphID)
}

func newHookID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new hook id: %w", err)
	}
	return "hk-" + hex.EncodeToString(b), nil
}

// hookSecretName is the Trellis secret that holds a hook's secret.
func hookSecretName(id string) string {
	return "HOOK_" + strings.ToUpper(strings.TrimPrefix(id, "hk-"))
}

// CreateHook stores a new hook of a graph with its secret. Errors: ErrInvalid for a hook
// ValidateHook refuses; ErrNotFound for an unknown graph.
func (db *DB) CreateHook(ctx context.Context, h Hook, secret string) (*Hook, error) {
	h.Name = strings.TrimSpace(h.Name)
	if err := ValidateHook(h); err != nil {
		return nil, err
	}
	if _, err := db.GetGraph(ctx, h.GraphID); err != nil {
		return nil, err
	}
	id, err := newHookID()
	if err != nil {
		return nil, err
	}
	h.ID, h.SecretName, h.CreatedAt = id, hookSecretName(id), fromNanos(db.nowNanos())
	if err := db.SetSecret(ctx, h.SecretName, secret); err != nil {
		return nil, err
	}
	_, err = db.db.ExecContext(ctx, `INSERT INTO hooks (id, graph_id, name, auth, version, secret_name, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, h.ID, h.GraphID, h.Name, h.Auth, h.Version, h.SecretName, h.CreatedBy, h.CreatedAt.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("create hook of %s: %w", h.GraphID, err)
	}
	return &h, nil
}

const hookColumns = `id, graph_id, name, auth, version, secret_name, created_by, created_at, rotated_at, disabled_at`

func scanHook(row interface{ Scan(...any) error }) (*Hook, error) {
	var h Hook
	var created int64
	var rotated, disabled sql.NullInt64
	if err := row.Scan(&h.ID, &h.GraphID, &h.Name, &h.Auth, &h.Version, &h.SecretName, &h.CreatedBy, &created, &rotated, &disabled); err != nil {
		return nil, err
	}
	h.CreatedAt = fromNanos(created)
	if rotated.Valid {
		t := fromNanos(rotated.Int64)
		h.RotatedAt = &t
	}
	if disabled.Valid {
		t := fromNanos(disabled.Int64)
		h.DisabledAt = &t
	}
	return &h, nil
}

// GetHook returns a hook, or ErrNotFound.
func (db *DB) GetHook(ctx context.Context, id string) (*Hook, error) {
	if !ValidHookID(id) {
		return nil, notFoundf("there is no hook %q", id)
	}
	h, err := scanHook(db.db.QueryRowContext(ctx, `SELECT `+hookColumns+` FROM hooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("there is no hook %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get hook %s: %w", id, err)
	}
	return h, nil
}

// ListHooks returns a graph's hooks, oldest first.
func (db *DB) ListHooks(ctx context.Context, graphID string) ([]Hook, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+hookColumns+` FROM hooks WHERE graph_id = ? ORDER BY created_at, id`, graphID)
	if err != nil {
		return nil, fmt.Errorf("list hooks of %s: %w", graphID, err)
	}
	defer rows.Close()
	var out []Hook
	for rows.Next() {
		h, err := scanHook(rows)
		if err != nil {
			return nil, fmt.Errorf("list hooks of %s: %w", graphID, err)
		}
		out = append(out, *h)
	}
	return out, rows.Err()
}

// SetHookEnabled enables or disables a hook. Errors: ErrNotFound.
func (db *DB) SetHookEnabled(ctx context.Context, id string, enabled bool) error {
	var disabled any
	if !enabled {
		disabled = db.nowNanos()
	}
	res, err := db.db.ExecContext(ctx, `UPDATE hooks SET disabled_at = ? WHERE id = ?`, disabled, id)
	return affectedOne(res, err, "set hook "+id, func() error { return notFoundf("there is no hook %q", id) })
}

// RotateHookSecret replaces a hook's secret. Errors: ErrNotFound.
func (db *DB) RotateHookSecret(ctx context.Context, id, secret string) error {
	h, err := db.GetHook(ctx, id)
	if err != nil {
		return err
	}
	if err := db.SetSecret(ctx, h.SecretName, secret); err != nil {
		return err
	}
	res, err := db.db.ExecContext(ctx, `UPDATE hooks SET rotated_at = ? WHERE id = ?`, db.nowNanos(), id)
	return affectedOne(res, err, "rotate hook "+id, func() error { return notFoundf("there is no hook %q", id) })
}

// HookSecret returns the value of a hook's secret.
func (db *DB) HookSecret(ctx context.Context, h *Hook) (string, error) {
	return db.Secret(ctx, h.SecretName)
}

// RecordHookDelivery notes a delivery's answer and keeps only the newest deliveries.
func (db *DB) RecordHookDelivery(ctx context.Context, hookID string, d HookDelivery) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO hook_deliveries (hook_id, at, status, run_id, message) VALUES (?, ?, ?, ?, ?)`,
			hookID, d.At.UnixNano(), d.Status, d.RunID, clipRunes(d.Message, 300)); err != nil {
			return fmt.Errorf("record delivery of %s: %w", hookID, err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM hook_deliveries WHERE hook_id = ? AND id NOT IN
			(SELECT id FROM hook_deliveries WHERE hook_id = ? ORDER BY at DESC, id DESC LIMIT ?)`, hookID, hookID, hookDeliveriesKept)
		if err != nil {
			return fmt.Errorf("prune deliveries of %s: %w", hookID, err)
		}
		return nil
	})
}

// ListHookDeliveries returns a hook's newest deliveries, newest first.
func (db *DB) ListHookDeliveries(ctx context.Context, hookID string, limit int) ([]HookDelivery, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT at, status, run_id, message FROM hook_deliveries WHERE hook_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`, hookID, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", hookID, err)
	}
	defer rows.Close()
	var out []HookDelivery
	for rows.Next() {
		var d HookDelivery
		var at int64
		if err := rows.Scan(&at, &d.Status, &d.RunID, &d.Message); err != nil {
			return nil, fmt.Errorf("list deliveries of %s: %w", hookID, err)
		}
		d.At = fromNanos(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimHookKey claims an Idempotency-Key of a hook for a delivery about to start a run. It
// returns claimed when this delivery is the first with the key (within HookKeyTTL); otherwise
// the run the first one started, which is "" while that run is still starting.
func (db *DB) ClaimHookKey(ctx context.Context, hookID, key string) (runID string, claimed bool, err error) {
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		now := db.nowNanos()
		if _, err := tx.ExecContext(ctx, `DELETE FROM hook_keys WHERE created_at < ?`, now-int64(HookKeyTTL)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO hook_keys (hook_id, key, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, hookID, key, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			claimed = true
			return nil
		}
		return tx.QueryRowContext(ctx, `SELECT run_id FROM hook_keys WHERE hook_id = ? AND key = ?`, hookID, key).Scan(&runID)
	})
	if err != nil {
		return "", false, fmt.Errorf("claim key of hook %s: %w", hookID, err)
	}
	return runID, claimed, nil
}

// SetHookKeyRun records the run a claimed key started; an empty runID releases the claim
// (the delivery started no run, so a retry may).
func (db *DB) SetHookKeyRun(ctx context.Context, hookID, key, runID string) error {
	var err error
	if runID == "" {
		_, err = db.db.ExecContext(ctx, `DELETE FROM hook_keys WHERE hook_id = ? AND key = ? AND run_id = ''`, hookID, key)
	} else {
		_, err = db.db.ExecContext(ctx, `UPDATE hook_keys SET run_id = ? WHERE hook_id = ? AND key = ?`, runID, hookID, key)
	}
	if err != nil {
		return fmt.Errorf("set key of hook %s: %w", hookID, err)
	}
	return nil
}
