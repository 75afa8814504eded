// Package storetest opens real SQLite stores for the tests of other packages; it is apart
// from store so that the product does not import testing.
package storetest

import (
	"testing"

	"trellis/store"
)

// MustOpen opens a fresh store in tb.TempDir() with a cheap bcrypt cost and a key file, and
// closes it when the test ends.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	return MustOpenWith(tb, store.Options{})
}

// MustOpenWith is MustOpen with options; empty KeyFile and BcryptCost get the test defaults
// (a key file in the temp dir, cost 4).
func MustOpenWith(tb testing.TB, opts store.Options) *store.DB {
	tb.Helper()
	db, err := store.OpenScratch(tb.TempDir(), opts)
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
