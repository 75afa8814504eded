package engine

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// temporal.db's connection settings must be pragmas SQLite knows: an unknown one is ignored
// without a word, which is how the file ran for months with a rollback journal while the
// code said WAL.
func TestServerDBSettingsTakeEffect(t *testing.T) {
	dir := t.TempDir()
	srv, err := StartServer(ServerConfig{DataDir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	path := filepath.Join(dir, "temporal.db")
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	uriParams := map[string]bool{"mode": true} // the rest go to SQLite as pragmas
	for name := range serverDBAttributes() {
		if uriParams[name] {
			continue
		}
		var v string
		if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
			t.Errorf("PRAGMA %s: %v (SQLite does not know it, so the setting does nothing)", name, err)
		}
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("temporal.db's journal mode is %q, want wal", mode)
	}
	if _, err := os.Stat(path + "-journal"); err == nil {
		t.Errorf("temporal.db has a rollback journal beside it")
	}
}
