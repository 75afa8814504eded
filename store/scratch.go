package store

import (
	"context"
	"path/filepath"
)

// OpenScratch opens a fresh store in dir for tests and benchmarks: empty KeyFile and
// BcryptCost get a key file in dir and the cheapest cost bcrypt takes, 4.
func OpenScratch(dir string, opts Options) (*DB, error) {
	if opts.KeyFile == "" {
		opts.KeyFile = filepath.Join(dir, "secret.key")
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = 4
	}
	return Open(context.Background(), filepath.Join(dir, "trellis.db"), opts)
}
