// Package store keeps Trellis's own state in SQLite: users, browser sessions, API tokens,
// encrypted secrets, and graphs with their drafts and published versions.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
	"golang.org/x/crypto/bcrypt"
)

// dsnParams are the SQLite settings of every connection. WAL lets the CLI write while serve
// runs; synchronous=FULL makes each commit durable across power loss, which costs little at
// Trellis's write rates; _txlock=immediate takes the write lock at BEGIN so two writers wait
// on the busy timeout instead of failing with SQLITE_BUSY on lock upgrade.
const dsnParams = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=5000&_txlock=immediate&_synchronous=FULL"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configure Open.
type Options struct {
	// KeyFile holds the AES-256 key for secrets; it is created (mode 0600, 32 random bytes)
	// when missing. Without it the secret methods return an error.
	KeyFile string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// BcryptCost hashes new passwords; default 12 (bcrypt.DefaultCost is 10). Tests lower it.
	BcryptCost int
}

// DefaultBcryptCost is the bcrypt cost used when Options.BcryptCost is zero.
const DefaultBcryptCost = 12

// DB is the Trellis store. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
	now  func() time.Time
	cost int

	keyFile string
	key     []byte

	dummyOnce sync.Once
	dummyHash []byte
}

// Open opens (creating if needed) the database file at path and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	// go-sqlite3 splits the DSN at the first '?', so such a path cannot be expressed.
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("open database %s: the path must not contain '?'", path)
	}
	if err := checkDirWritable(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	cost := opts.BcryptCost
	if cost == 0 {
		cost = DefaultBcryptCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("open database: bcrypt cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	db := &DB{path: path, now: opts.Now, cost: cost, keyFile: opts.KeyFile}
	if db.now == nil {
		db.now = time.Now
	}
	if opts.KeyFile != "" {
		key, err := loadOrCreateKey(opts.KeyFile)
		if err != nil {
			return nil, err
		}
		db.key = key
	}

	sqlDB, err := sql.Open("sqlite3", path+"?"+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.db = sqlDB
	if err := db.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database %s: %w", path, explainSQLiteError(err))
	}
	return db, nil
}

// checkDirWritable fails clearly when dir is missing or read-only. SQLite itself would only
// report "unable to open database file", and in WAL mode it needs to create the -wal and -shm
// files beside the database even when the database file exists.
func checkDirWritable(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, unwrapPathError(err))
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := tryCreateFile(dir); err != nil {
		return fmt.Errorf("directory %s is not writable: %w", dir, err)
	}
	return nil
}

// tryCreateFile creates and removes a file in dir: the one check of writability that also
// holds for root and for read-only mounts.
func tryCreateFile(dir string) error {
	f, err := os.CreateTemp(dir, ".trellis-write-check-*")
	if err != nil {
		return unwrapPathError(err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Files in a data dir.
const (
	DBFileName  = "trellis.db"
	KeyFileName = "secret.key"
)

// OpenDataDir creates dir when missing and opens dir/trellis.db, with dir/secret.key as the
// key file unless opts names one. It does not lock the dir (see AcquireDataDir): the admin
// commands share it with a running serve, which WAL mode and the busy timeout allow.
func OpenDataDir(ctx context.Context, dir string, opts Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s is not writable: %w", dir, unwrapPathError(err))
	}
	if err := tryCreateFile(dir); err != nil {
		return nil, fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	if opts.KeyFile == "" {
		opts.KeyFile = filepath.Join(dir, KeyFileName)
	}
	return Open(ctx, filepath.Join(dir, DBFileName), opts)
}

// explainSQLiteError turns the SQLite errors a user can cause by pointing at the wrong file
// into sentences.
func explainSQLiteError(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrNotADB:
		return errors.New("the file is not a SQLite database")
	case sqlite3.ErrCantOpen:
		return fmt.Errorf("cannot open the file (is its directory writable?): %w", err)
	case sqlite3.ErrReadonly, sqlite3.ErrPerm:
		return fmt.Errorf("the database is not writable: %w", err)
	}
	return err
}

// Close closes the database.
func (db *DB) Close() error {
	return db.db.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %s: name must look like 0001_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: m[2], sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: versions must run 1, 2, 3… without gaps", m.version, m.name)
		}
	}
	return ms, nil
}

// migrate applies pending migrations, each in its own immediate transaction; the applied
// check is inside the transaction, so two processes opening at once apply each only once.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at INTEGER NOT NULL
		)`); err != nil {
			return err
		}
		var newest int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
			return err
		}
		if newest > len(ms) {
			return fmt.Errorf("the database schema is version %d but this trellis knows only up to %d; use a newer trellis", newest, len(ms))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, db.nowNanos())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

// withTx runs fn in a transaction (BEGIN IMMEDIATE through the DSN) and commits it when fn
// returns nil.
func (db *DB) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (db *DB) nowNanos() int64 { return db.now().UnixNano() }

// fromNanos turns a stored time (Unix nanoseconds) back into a UTC time.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
