package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TokenPrefix starts every API token, so that a leaked token is recognisable (and
// secret scanners can find it).
const TokenPrefix = "trl_"

// newToken returns a random URL-safe token and the SHA-256 of it, which is all that is stored:
// the tokens are 256-bit random, so a fast hash is enough to make a stolen database useless.
func newToken(prefix string) (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random token: %w", err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateSession starts a browser session for the user that lasts ttl, and returns its token
// (for the cookie). Only the token's hash is stored.
func (db *DB) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", invalidf("session lifetime must be positive, got %s", ttl)
	}
	token, hash, err := newToken("")
	if err != nil {
		return "", err
	}
	now := db.now()
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		var disabled sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT disabled_at FROM users WHERE id = ?`, userID).Scan(&disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("user %d not found", userID)
		}
		if err != nil {
			return err
		}
		if disabled.Valid {
			return conflictf("user %d is disabled", userID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			hash, userID, now.UnixNano(), now.Add(ttl).UnixNano())
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return "", err
		}
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionUser returns the user of an unexpired session, or ErrNotFound (also when the user is
// disabled, whose sessions are gone anyway).
func (db *DB) SessionUser(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, notFoundf("session not found")
	}
	u, err := scanUser(db.db.QueryRowContext(ctx, userColumns+`
		JOIN sessions s ON s.user_id = u.id
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`, hashToken(token), db.nowNanos()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("session not found or expired")
	}
	if err != nil {
		return nil, fmt.Errorf("session user: %w", err)
	}
	return u, nil
}

// DeleteSession ends a session (sign out). An unknown token is not an error.
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(token)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes expired sessions and returns how many there were.
func (db *DB) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, db.nowNanos())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}

// Token describes an API token; the token itself is never stored.
type Token struct {
	ID         int64
	UserName   string
	Label      string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
}

// MaxTokenLabel is the longest token label accepted, in bytes.
const MaxTokenLabel = 200

// tokenTouchInterval limits how often TokenUser records a token's use, so that busy API
// clients do not turn every read into a write.
const tokenTouchInterval = time.Minute

// CreateToken creates an API token for the user and returns it; it is shown only this once.
func (db *DB) CreateToken(ctx context.Context, userName, label string) (string, error) {
	label = strings.TrimSpace(label)
	if len(label) > MaxTokenLabel {
		return "", invalidf("the token label is too long: use at most %d bytes", MaxTokenLabel)
	}
	token, hash, err := newToken(TokenPrefix)
	if err != nil {
		return "", err
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		var id int64
		var disabled sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT id, disabled_at FROM users WHERE name = ?`, userName).Scan(&id, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundf("user %q not found", userName)
		}
		if err != nil {
			return err
		}
		if disabled.Valid {
			return conflictf("user %q is disabled: enable them before creating a token", userName)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES (?, ?, ?, ?)`,
			hash, id, label, db.nowNanos())
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return "", err
		}
		return "", fmt.Errorf("create token for %s: %w", userName, err)
	}
	return token, nil
}

// TokenUser returns the user an API token belongs to, with the roles the user has now, or
// ErrNotFound (also when the user is disabled).
func (db *DB) TokenUser(ctx context.Context, token string) (*User, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, notFoundf("API token not found")
	}
	hash := hashToken(token)
	var tokenID int64
	var lastUsed sql.NullInt64
	err := db.db.QueryRowContext(ctx, `SELECT t.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND u.disabled_at IS NULL`, hash).Scan(&tokenID, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("API token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("token user: %w", err)
	}
	u, err := scanUser(db.db.QueryRowContext(ctx, userColumns+`
		JOIN api_tokens t ON t.user_id = u.id WHERE t.id = ? AND u.disabled_at IS NULL`, tokenID))
	if errors.Is(err, sql.ErrNoRows) {
		// Revoked or disabled between the two reads.
		return nil, notFoundf("API token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("token user: %w", err)
	}
	now := db.now()
	if !lastUsed.Valid || now.Sub(fromNanos(lastUsed.Int64)) >= tokenTouchInterval {
		if _, err := db.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now.UnixNano(), tokenID); err != nil {
			return nil, fmt.Errorf("token user: record use: %w", err)
		}
	}
	return u, nil
}

// ListTokens lists API tokens, newest first: those of userName, or all when it is empty.
func (db *DB) ListTokens(ctx context.Context, userName string) ([]Token, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT t.id, u.name, t.label, t.created_at, t.last_used_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE ? = '' OR u.name = ?
		ORDER BY t.created_at DESC, t.id DESC`, userName, userName)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	tokens := []Token{}
	for rows.Next() {
		var t Token
		var created int64
		var lastUsed sql.NullInt64
		if err := rows.Scan(&t.ID, &t.UserName, &t.Label, &created, &lastUsed); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.CreatedAt = fromNanos(created)
		if lastUsed.Valid {
			t.LastUsedAt = fromNanos(lastUsed.Int64)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// RevokeToken deletes the API token with that id, or returns ErrNotFound.
func (db *DB) RevokeToken(ctx context.Context, id int64) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	} else if n == 0 {
		return notFoundf("API token %d not found", id)
	}
	return nil
}

// RevokeUserToken deletes the API token with that id if it belongs to userName, or returns
// ErrNotFound, so that a form for one user cannot revoke another's token.
func (db *DB) RevokeUserToken(ctx context.Context, userName string, id int64) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM api_tokens
		WHERE id = ? AND user_id = (SELECT id FROM users WHERE name = ?)`, id, userName)
	if err != nil {
		return fmt.Errorf("revoke token %d of %s: %w", id, userName, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke token %d of %s: %w", id, userName, err)
	} else if n == 0 {
		return notFoundf("%s has no API token %d", userName, id)
	}
	return nil
}
