package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trellis/store"
)

func TestMain(m *testing.M) {
	bcryptCost = 4
	code := m.Run()
	removeTrellisBinary()
	os.Exit(code)
}

// runCLI runs one command line the way main does and returns its exit code and output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// openData opens the store the commands wrote to.
func openData(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.OpenDataDir(context.Background(), dir, store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestUsageErrors(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("TRELLIS_DATA", data)
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStderr string
	}{
		{"unknown command", []string{"frob"}, "", 2, `trellis: unknown command "frob"; run 'trellis help'`},
		{"unknown top-level flag", []string{"--frob"}, "", 2, `trellis: unknown flag "--frob"; run 'trellis help'`},
		{"missing subcommand", []string{"user"}, "", 2, `trellis: "user" needs a subcommand (add, delete, disable, enable, list); run 'trellis help'`},
		{"unknown subcommand", []string{"token", "frob"}, "", 2, `trellis: unknown command "token frob"; run 'trellis help'`},
		{"unknown flag", []string{"user", "add", "alice", "--role", "analyst", "--frob"}, "", 2, `trellis: user add: unknown flag --frob; run 'trellis user add -h'`},
		{"flag without value", []string{"user", "add", "alice", "--role"}, "", 2, `trellis: user add: flag --role needs a value`},
		{"no user name", []string{"user", "add", "--role", "analyst"}, "", 2, `trellis: user add: want one user name, got 0 arguments; usage: trellis ` + userAddSynopsis},
		{"no role", []string{"user", "add", "alice", "--password-stdin"}, "password1\n", 2, `trellis: user add: --role is required (analyst, reviewer, developer, admin)`},
		{"unknown role", []string{"user", "add", "alice", "--role", "analyst,boss"}, "", 2, `trellis: user add: unknown role "boss" (use analyst, reviewer, developer, admin)`},
		{"bad user name", []string{"user", "add", "Alice", "--role", "analyst"}, "", 2, `trellis: user add: user name "Alice" is not valid: use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{"empty password", []string{"user", "add", "alice", "--role", "analyst", "--password-stdin"}, "\n", 2, `trellis: user add: --password-stdin was given but stdin holds no password`},
		{"bad secret name", []string{"secret", "set", "api-key", "--value-stdin"}, "x", 2, `trellis: secret set: secret name "api-key" is not valid: use 1 to 64 uppercase letters, digits or '_', starting with a letter (like API_KEY)`},
		{"secret without value-stdin", []string{"secret", "set", "API_KEY"}, "x", 2, `trellis: secret set: --value-stdin is required; the value is read from stdin only`},
		{"empty secret", []string{"secret", "set", "API_KEY", "--value-stdin"}, "\n", 2, `trellis: secret set: stdin holds no value`},
		{"token without user", []string{"token", "create"}, "", 2, `trellis: token create: want one user name, got 0 arguments; usage: trellis ` + tokenCreateSynopsis},
		{"version with argument", []string{"version", "now"}, "", 2, `trellis: version: takes no arguments`},
		{"bad env value", []string{"user", "add", "alice", "--role", "analyst"}, "", 2, `trellis: user add: invalid value in TRELLIS_PASSWORD_STDIN: parse error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "bad env value" {
				t.Setenv("TRELLIS_PASSWORD_STDIN", "perhaps")
			}
			code, stdout, stderr := runCLI(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if stderr != tt.wantStderr+"\n" {
				t.Errorf("stderr = %q\nwant     %q", stderr, tt.wantStderr+"\n")
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed command created the data dir (%v)", err)
			}
		})
	}
}

func TestNoArgumentsPrintsUsage(t *testing.T) {
	code, stdout, stderr := runCLI(t, "")
	if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "Usage: trellis") {
		t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     []string
		dontWant []string
	}{
		{"help", []string{"help"}, []string{"Usage: trellis", "user add", "token create", "secret set", "provider set", "version", "TRELLIS_DATA"}, nil},
		{"-h", []string{"-h"}, []string{"Usage: trellis"}, nil},
		{"user add -h", []string{"user", "add", "-h"}, []string{"Usage: trellis " + userAddSynopsis, "--password-stdin", "[TRELLIS_PASSWORD_STDIN]", "(default ./data) [TRELLIS_DATA]"}, nil},
		{"token create -h", []string{"token", "create", "--help"}, []string{"--label", "[TRELLIS_LABEL]"}, nil},
		{"secret set -h", []string{"secret", "set", "-h"}, []string{"--value-stdin"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != 0 || stderr != "" {
				t.Errorf("code %d, stderr %q", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(stdout, w) {
					t.Errorf("help mentions %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(stdout, "trellis dev (go") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("version: code %d, stdout %q", code, stdout)
	}
}

func TestUserAdd(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"create", []string{"user", "add", "alice", "--role", "reviewer,analyst", "--group", "finance", "--password-stdin", "--data", dir},
			"correct horse\nignored second line\n", 0, "created user alice (analyst, reviewer) in groups finance\n", ""},
		{"update keeps the password", []string{"user", "add", "--data", dir, "alice", "--role", "developer"},
			"", 0, "updated user alice (developer)\n", ""},
		{"new user needs a password", []string{"user", "add", "bob", "--role", "analyst", "--data", dir},
			"", 2, "", "trellis: user add: bob is a new user and needs a password: pass it on stdin with --password-stdin\n"},
		{"short password", []string{"user", "add", "bob", "--role", "analyst", "--password-stdin", "--data", dir},
			"short\n", 2, "", "trellis: user add: the password is too short: use at least 8 characters\n"},
		{"CRLF and spaces", []string{"user", "add", "carol", "--role", "admin", "--password-stdin", "--data", dir},
			" spaced pass \r\n", 0, "created user carol (admin)\n", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, st.stdin, st.args...)
			if code != st.wantCode || stdout != st.wantStdout || stderr != st.wantStderr {
				t.Errorf("got code %d stdout %q stderr %q\nwant code %d stdout %q stderr %q",
					code, stdout, stderr, st.wantCode, st.wantStdout, st.wantStderr)
			}
		})
	}

	db := openData(t, dir)
	ctx := context.Background()
	logins := []struct {
		name, user, password string
		wantErr              error
	}{
		{"alice", "alice", "correct horse", nil},
		{"carol keeps inner spaces", "carol", " spaced pass ", nil},
		{"bob was never created", "bob", "short", store.ErrBadCredentials},
	}
	for _, l := range logins {
		t.Run("login "+l.name, func(t *testing.T) {
			_, err := db.Authenticate(ctx, l.user, l.password)
			if !errors.Is(err, l.wantErr) {
				t.Errorf("Authenticate = %v, want %v", err, l.wantErr)
			}
		})
	}
	alice, err := db.UserByName(ctx, "alice")
	if err != nil || !alice.HasRole(store.RoleDeveloper) || alice.HasRole(store.RoleAnalyst) || len(alice.Groups) != 0 {
		t.Errorf("alice after update = %+v, %v", alice, err)
	}
}

func TestDataDirFromEnv(t *testing.T) {
	fromEnv := filepath.Join(t.TempDir(), "env-data")
	fromFlag := filepath.Join(t.TempDir(), "flag-data")
	tests := []struct {
		name    string
		args    []string
		user    string
		wantDir string
		notDir  string
	}{
		{"env var when no flag", []string{"user", "add", "dora", "--role", "analyst", "--password-stdin"}, "dora", fromEnv, fromFlag},
		{"flag beats env var", []string{"user", "add", "erin", "--role", "analyst", "--password-stdin", "--data", fromFlag}, "erin", fromFlag, fromEnv},
	}
	t.Setenv("TRELLIS_DATA", fromEnv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "password1\n", tt.args...)
			if code != 0 {
				t.Fatalf("code %d: %s", code, stderr)
			}
			db := openData(t, tt.wantDir)
			if _, err := db.Authenticate(context.Background(), tt.user, "password1"); err != nil {
				t.Errorf("%s not in %s: %v", tt.user, tt.wantDir, err)
			}
			if _, err := os.Stat(filepath.Join(tt.notDir, "trellis.db")); err == nil {
				other := openData(t, tt.notDir)
				if _, err := other.UserByName(context.Background(), tt.user); err == nil {
					t.Errorf("%s was also written to %s", tt.user, tt.notDir)
				}
			}
		})
	}
}

func TestTokenCreate(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "password1\n", "user", "add", "alice", "--role", "developer", "--password-stdin", "--data", dir); code != 0 {
		t.Fatalf("user add: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, "", "token", "create", "alice", "--label", "ci", "--data", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("token create: code %d stderr %q", code, stderr)
	}
	token, ok := strings.CutSuffix(stdout, "\n")
	if !ok || strings.ContainsAny(token, " \n") || !strings.HasPrefix(token, store.TokenPrefix) {
		t.Fatalf("stdout %q is not one token line", stdout)
	}
	db := openData(t, dir)
	u, err := db.TokenUser(context.Background(), token)
	if err != nil || u.Name != "alice" {
		t.Fatalf("TokenUser = %v, %v", u, err)
	}
	if tokens, _ := db.ListTokens(context.Background(), "alice"); len(tokens) != 1 || tokens[0].Label != "ci" {
		t.Errorf("ListTokens = %+v", tokens)
	}

	code, stdout, stderr = runCLI(t, "", "token", "create", "nobody", "--data", dir)
	if code != 1 || stdout != "" || stderr != "trellis: token create: user \"nobody\" not found\n" {
		t.Errorf("unknown user: code %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestSecretSet(t *testing.T) {
	dir := t.TempDir()
	const value = "s3cr3t-v4lue-never-echoed"
	tests := []struct {
		name, stdin, want string
	}{
		{"one trailing newline trimmed", value + "\n", value},
		{"only one newline trimmed", value + "\n\n", value + "\n"},
		{"CRLF trimmed", value + "\r\n", value},
		{"no newline", value, value},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, "secret", "set", "API_KEY", "--value-stdin", "--data", dir)
			if code != 0 || stdout != "secret API_KEY set\n" || stderr != "" {
				t.Fatalf("code %d stdout %q stderr %q", code, stdout, stderr)
			}
			db := openData(t, dir)
			got, err := db.Secret(context.Background(), "API_KEY")
			db.Close()
			if err != nil || got != tt.want {
				t.Errorf("Secret = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// Encrypted at rest: the value is nowhere in the database files.
	for _, suffix := range []string{"", "-wal"} {
		raw, err := os.ReadFile(filepath.Join(dir, "trellis.db"+suffix))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(value)) {
			t.Errorf("trellis.db%s holds the secret in clear", suffix)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key: %v, mode %v", err, fi.Mode().Perm())
	}
}

func TestUnwritableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(file, "data")
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"user add", []string{"user", "add", "alice", "--role", "analyst", "--password-stdin", "--data", data}, "password1\n"},
		{"token create", []string{"token", "create", "alice", "--data", data}, ""},
		{"secret set", []string{"secret", "set", "API_KEY", "--value-stdin", "--data", data}, "v\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, tt.args...)
			want := "trellis: data dir " + data + " is not writable: not a directory\n"
			if code != 1 || stdout != "" || stderr != want {
				t.Errorf("code %d stdout %q stderr %q; want code 1 and %q", code, stdout, stderr, want)
			}
		})
	}
}

// cliTokens creates an API token for each user with `trellis token create`, by name.
func cliTokens(t *testing.T, data string, users ...string) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	for _, u := range users {
		code, out, errOut := runCLI(t, "", "token", "create", u, "--data", data)
		if code != 0 {
			t.Fatalf("token create %s: %s", u, errOut)
		}
		tokens[u] = strings.TrimSpace(out)
	}
	return tokens
}
