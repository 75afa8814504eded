package store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openAt(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	if opts.KeyFile == "" {
		opts.KeyFile = filepath.Join(dir, "secret.key")
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = 4
	}
	db, err := Open(context.Background(), filepath.Join(dir, "trellis.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// dbFileBytes returns the database file and its WAL side files, after the store is closed.
func dbFileBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, "trellis.db"+suffix))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(all) == 0 {
		t.Fatal("no database file found")
	}
	return all
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		db := openAt(t, dir, Options{})
		var n, maxV int
		if err := db.db.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || maxV != len(ms) {
			t.Errorf("open #%d: schema_migrations has %d rows up to %d, want %d", i+1, n, maxV, len(ms))
		}
		if i == 0 {
			if _, _, err := db.UpsertUser(ctx, UserInput{Name: "alice", Password: "password1", Roles: []string{RoleAnalyst}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.UserByName(ctx, "alice"); err != nil {
			t.Errorf("open #%d: data lost: %v", i+1, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	db := openAt(t, dir, Options{})
	if _, err := db.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(context.Background(), filepath.Join(dir, "trellis.db"), Options{KeyFile: filepath.Join(dir, "secret.key")})
	if err == nil || !strings.Contains(err.Error(), "schema is version 999") {
		t.Fatalf("Open = %v, want an error about schema version 999", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notadb")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not sqlite ", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "afile")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	shortKey := filepath.Join(dir, "short.key")
	if err := os.WriteFile(shortKey, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		opts    Options
		wantErr string
	}{
		{"not a database", notDB, Options{}, "is not a SQLite database"},
		{"parent is a file", filepath.Join(aFile, "trellis.db"), Options{}, "is not a directory"},
		{"missing dir", filepath.Join(dir, "nope", "trellis.db"), Options{}, "directory " + filepath.Join(dir, "nope") + " does not exist"},
		{"question mark", filepath.Join(dir, "a?b.db"), Options{}, "must not contain '?'"},
		{"bad key file", filepath.Join(dir, "ok.db"), Options{KeyFile: shortKey}, "holds 9 bytes, want 32"},
		{"bad bcrypt cost", filepath.Join(dir, "ok.db"), Options{BcryptCost: 99}, "bcrypt cost 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), tt.path, tt.opts)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := Open(context.Background(), filepath.Join(dir, "trellis.db"), Options{})
	if err == nil || !strings.Contains(err.Error(), "directory "+dir+" is not writable: permission denied") {
		t.Fatalf("Open = %v, want an error saying the dir is not writable", err)
	}
}

func TestPing(t *testing.T) {
	db := MustOpenTest(t)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.Ping(context.Background()); err == nil {
		t.Fatal("Ping on a closed store succeeded")
	}
}

func TestAcquireDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	release, err := AcquireDataDir(dir)
	if err != nil {
		t.Fatalf("first AcquireDataDir: %v", err)
	}
	pid, err := os.ReadFile(filepath.Join(dir, LockFileName))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(pid)), fmt.Sprint(os.Getpid()); got != want {
		t.Errorf("lock file holds %q, want pid %s", got, want)
	}

	// flock locks belong to an open file description, so a second open in this same process
	// conflicts just as another process would.
	_, err = AcquireDataDir(dir)
	if !errors.Is(err, ErrDataDirLocked) {
		t.Fatalf("second AcquireDataDir = %v, want ErrDataDirLocked", err)
	}
	want := fmt.Sprintf("data dir %s is in use by another trellis process (pid %d)", dir, os.Getpid())
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Errorf("second release: %v", err)
	}
	release2, err := AcquireDataDir(dir)
	if err != nil {
		t.Fatalf("AcquireDataDir after release: %v", err)
	}
	release2()
}

// TestAcquireDataDirOtherProcess holds the lock in a child process (this test binary running
// TestLockHolderProcess) and checks that this process is refused and told the child's pid.
func TestAcquireDataDirOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	cmd.Env = append(os.Environ(), "STORE_TEST_LOCK_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("child said %q, %v; want \"locked\"", line, err)
	}

	_, err = AcquireDataDir(dir)
	wantMsg := fmt.Sprintf("(pid %d)", cmd.Process.Pid)
	if !errors.Is(err, ErrDataDirLocked) || !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("AcquireDataDir while the child holds it = %v, want ErrDataDirLocked naming %s", err, wantMsg)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	release, err := AcquireDataDir(dir)
	if err != nil {
		t.Fatalf("AcquireDataDir after the child exited: %v", err)
	}
	release()
}

func TestLockHolderProcess(t *testing.T) {
	dir := os.Getenv("STORE_TEST_LOCK_DIR")
	if dir == "" {
		t.Skip("only runs as the child of TestAcquireDataDirOtherProcess")
	}
	release, err := AcquireDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n') // Wait until the parent closes stdin.
	if err := release(); err != nil {
		t.Fatal(err)
	}
}

func TestAcquireDataDirNotWritable(t *testing.T) {
	base := t.TempDir()
	aFile := filepath.Join(base, "afile")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		skip bool
	}{
		{"parent is a file", filepath.Join(aFile, "data"), false},
		{"read-only dir", filepath.Join(base, "ro"), os.Geteuid() == 0},
	}
	if err := os.Mkdir(filepath.Join(base, "ro"), 0o500); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("root ignores directory permissions")
			}
			release, err := AcquireDataDir(tt.dir)
			if err == nil {
				release()
				t.Fatal("AcquireDataDir succeeded")
			}
			want := fmt.Sprintf("data dir %s is not writable: ", tt.dir)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q, want it to start with %q", err, want)
			}
		})
	}
}

// TestTwoHandlesShareDatabase runs writers through two handles on one file, as the CLI does
// beside a running serve: WAL, the busy timeout and BEGIN IMMEDIATE must serialise them
// without SQLITE_BUSY errors or duplicate version numbers.
func TestTwoHandlesShareDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openAt(t, dir, Options{})
	defer a.Close()
	b := openAt(t, dir, Options{})
	defer b.Close()
	g, err := a.CreateGraph(ctx, "Shared", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	const perHandle = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*perHandle)
	for h, db := range []*DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perHandle {
				hash := fmt.Sprintf("h%d-%d", h, i)
				if _, err := db.PublishVersion(ctx, g.ID, json.RawMessage(`{}`), hash, "", "alice"); err != nil {
					errs <- err
				}
				if _, err := db.SaveDraft(ctx, g.ID, json.RawMessage(`{}`), hash, 0, "alice"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	versions, err := b.ListVersions(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2*perHandle || versions[0].Version != 2*perHandle {
		t.Errorf("got %d versions, newest %d; want %d", len(versions), versions[0].Version, 2*perHandle)
	}
	got, _ := a.GetGraph(ctx, g.ID)
	if got.DraftRevision != 1+2*perHandle {
		t.Errorf("draft revision = %d, want %d", got.DraftRevision, 1+2*perHandle)
	}
}
