package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// KeySize is the length of the secrets key file: an AES-256 key.
const KeySize = 32

// MaxSecretSize is the largest secret value accepted, in bytes.
const MaxSecretSize = 64 << 10

var secretNamePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// ValidateSecretName returns an ErrInvalid error when name is not a valid secret name.
func ValidateSecretName(name string) error {
	if !secretNamePattern.MatchString(name) {
		return invalidf("secret name %q is not valid: use 1 to 64 uppercase letters, digits or '_', starting with a letter (like API_KEY)", name)
	}
	return nil
}

// loadOrCreateKey reads the key file, creating it with a fresh random key when missing. The
// new key is written to a temporary file and linked into place, so a crash never leaves a
// short key file and two processes starting at once end up with the same key.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
		key, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, unwrapPathError(err))
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("key file %s holds %d bytes, want %d: it is not a trellis secrets key", path, len(key), KeySize)
	}
	return key, nil
}

func createKey(path string) error {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("create key file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-key-*")
	if err != nil {
		return fmt.Errorf("create key file %s: %w", path, unwrapPathError(err))
	}
	defer os.Remove(tmp.Name())
	// CreateTemp already uses 0600; Chmod states it rather than relying on it.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("create key file %s: %w", path, err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return fmt.Errorf("create key file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("create key file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create key file %s: %w", path, err)
	}
	// Link fails when another process created the key first; then its key is the one.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create key file %s: %w", path, unwrapPathError(err))
	}
	return nil
}

func (db *DB) aead() (cipher.AEAD, error) {
	if db.key == nil {
		return nil, errors.New("secrets are not available: the store was opened without a key file")
	}
	block, err := aes.NewCipher(db.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SetSecret stores value under name, encrypted with AES-256-GCM (random nonce, the name as
// additional data so a ciphertext cannot be moved to another name).
func (db *DB) SetSecret(ctx context.Context, name, value string) error {
	if err := ValidateSecretName(name); err != nil {
		return err
	}
	if len(value) > MaxSecretSize {
		return invalidf("secret %s is too large: at most %d KiB", name, MaxSecretSize>>10)
	}
	gcm, err := db.aead()
	if err != nil {
		return fmt.Errorf("set secret %s: %w", name, err)
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return fmt.Errorf("set secret %s: %w", name, err)
	}
	ct := gcm.Seal(nil, nonce, []byte(value), []byte(name))
	now := db.nowNanos()
	_, err = db.db.ExecContext(ctx, `INSERT INTO secrets (name, nonce, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
		name, nonce, ct, now, now)
	if err != nil {
		return fmt.Errorf("set secret %s: %w", name, err)
	}
	return nil
}

// Secret returns the decrypted value of the secret, or ErrNotFound. It satisfies the
// engine's SecretSource.
func (db *DB) Secret(ctx context.Context, name string) (string, error) {
	var nonce, ct []byte
	err := db.db.QueryRowContext(ctx, `SELECT nonce, ciphertext FROM secrets WHERE name = ?`, name).Scan(&nonce, &ct)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFoundf("secret %s is not set", name)
	}
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	gcm, err := db.aead()
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	if len(nonce) != gcm.NonceSize() {
		return "", fmt.Errorf("secret %s: stored nonce has %d bytes, want %d", name, len(nonce), gcm.NonceSize())
	}
	plain, err := gcm.Open(nil, nonce, ct, []byte(name))
	if err != nil {
		return "", fmt.Errorf("secret %s cannot be decrypted with key file %s: it was stored with another key (set the secret again, or restore the original key file)", name, db.keyFile)
	}
	return string(plain), nil
}

// ListSecretNames returns the names of all secrets, ordered; never their values.
func (db *DB) ListSecretNames(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT name FROM secrets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return names, nil
}
