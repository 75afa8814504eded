package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	tests := []struct {
		name, secret, value string
		wantErr             error
	}{
		{"simple", "API_KEY", "sk-live-123", nil},
		{"overwrite", "API_KEY", "sk-live-456", nil},
		{"multi-line", "TLS_PEM", "-----BEGIN-----\nabc\n-----END-----", nil},
		{"empty value", "EMPTY", "", nil},
		{"lowercase name", "api_key", "x", ErrInvalid},
		{"leading digit", "1KEY", "x", ErrInvalid},
		{"dash", "API-KEY", "x", ErrInvalid},
		{"too large", "BIG", strings.Repeat("x", MaxSecretSize+1), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.SetSecret(ctx, tt.secret, tt.value)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SetSecret = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			got, err := db.Secret(ctx, tt.secret)
			if err != nil || got != tt.value {
				t.Errorf("Secret = %q, %v; want %q", got, err, tt.value)
			}
		})
	}
	if _, err := db.Secret(ctx, "MISSING"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Secret(missing) = %v, want ErrNotFound", err)
	}
	names, err := db.ListSecretNames(ctx)
	if err != nil || !slices.Equal(names, []string{"API_KEY", "EMPTY", "TLS_PEM"}) {
		t.Errorf("ListSecretNames = %v, %v", names, err)
	}
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openAt(t, dir, Options{})
	const value = "hunter2-very-secret-value"
	if err := db.SetSecret(ctx, "PASSWORD", value); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(dbFileBytes(t, dir), []byte(value)) {
		t.Fatal("the secret's value is in the database file in clear")
	}

	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Errorf("key file mode %v size %d, want 0600 and %d bytes", fi.Mode().Perm(), fi.Size(), KeySize)
	}

	// The same key file decrypts after a reopen.
	db = openAt(t, dir, Options{})
	got, err := db.Secret(ctx, "PASSWORD")
	db.Close()
	if err != nil || got != value {
		t.Fatalf("Secret after reopen = %q, %v", got, err)
	}

	// Another key file cannot, and says so.
	otherKey := filepath.Join(t.TempDir(), "other.key")
	db = openAt(t, dir, Options{KeyFile: otherKey})
	defer db.Close()
	_, err = db.Secret(ctx, "PASSWORD")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "cannot be decrypted with key file "+otherKey) {
		t.Fatalf("Secret with another key = %v, want a clear decryption error", err)
	}
	if strings.Contains(err.Error(), value) {
		t.Fatal("the error shows the value")
	}
}

func TestSecretsBoundToName(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	if err := db.SetSecret(ctx, "A", "value-a"); err != nil {
		t.Fatal(err)
	}
	// A ciphertext copied under another name must not decrypt: the name is authenticated.
	if _, err := db.db.ExecContext(ctx, `INSERT INTO secrets (name, nonce, ciphertext, created_at, updated_at)
		SELECT 'B', nonce, ciphertext, created_at, updated_at FROM secrets WHERE name = 'A'`); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Secret(ctx, "B"); err == nil {
		t.Fatalf("moved ciphertext decrypted to %q", v)
	}
}

func TestSecretsWithoutKeyFile(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(context.Background(), filepath.Join(dir, "trellis.db"), Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.SetSecret(context.Background(), "API_KEY", "x")
	if err == nil || !strings.Contains(err.Error(), "without a key file") {
		t.Fatalf("SetSecret without key = %v", err)
	}
}
