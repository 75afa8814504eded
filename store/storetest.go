package store

import (
	"context"
	"path/filepath"
	"testing"
)

// MustOpenTest opens a fresh store in tb.TempDir() with a cheap bcrypt cost and a key file,
// and closes it when the test ends.
func MustOpenTest(tb testing.TB) *DB {
	tb.Helper()
	return MustOpenTestWith(tb, Options{})
}

// MustOpenTestWith is MustOpenTest with options; empty KeyFile and BcryptCost get the test
// defaults (a key file in the temp dir, cost 4).
func MustOpenTestWith(tb testing.TB, opts Options) *DB {
	tb.Helper()
	dir := tb.TempDir()
	if opts.KeyFile == "" {
		opts.KeyFile = filepath.Join(dir, "secret.key")
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = 4
	}
	db, err := Open(context.Background(), filepath.Join(dir, "trellis.db"), opts)
	if err != nil {
		tb.Fatalf("open test store: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close test store: %v", err)
		}
	})
	return db
}
