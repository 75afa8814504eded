package store

import "testing"

// MustOpenTestWith opens a scratch store for this package's own tests, which cannot import
// storetest (it imports store); other packages use storetest.MustOpenWith.
func MustOpenTestWith(tb testing.TB, opts Options) *DB {
	tb.Helper()
	db, err := OpenScratch(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("open test store: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// MustOpenTest is MustOpenTestWith with the default options.
func MustOpenTest(tb testing.TB) *DB { return MustOpenTestWith(tb, Options{}) }
