package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"trellis/store"
)

// addUser runs "user add" or fails the test.
func addUser(t *testing.T, dir, name, roles string) {
	t.Helper()
	if code, _, stderr := runCLI(t, "password1\n", "user", "add", name, "--role", roles, "--password-stdin", "--data", dir); code != 0 {
		t.Fatalf("user add %s: %s", name, stderr)
	}
}

// newToken runs "token create" and returns the token.
func newToken(t *testing.T, dir, name, label string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", "token", "create", name, "--label", label, "--data", dir)
	if code != 0 {
		t.Fatalf("token create %s: %s", name, stderr)
	}
	return strings.TrimSpace(stdout)
}

func TestTokenListRevoke(t *testing.T) {
	dir := t.TempDir()
	addUser(t, dir, "alice", "developer")
	addUser(t, dir, "bob", "analyst")

	code, stdout, _ := runCLI(t, "", "token", "list", "alice", "--data", dir)
	if code != 0 || stdout != "alice has no API tokens\n" {
		t.Fatalf("empty list: code %d stdout %q", code, stdout)
	}
	aliceToken := newToken(t, dir, "alice", "ci")
	bobToken := newToken(t, dir, "bob", "")

	code, stdout, stderr := runCLI(t, "", "token", "list", "--data", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("token list: code %d stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	row := regexp.MustCompile(`^(\d+)\s+(alice|bob)\s+(ci|-)\s+\d{4}-\d\d-\d\dT\S+\s+never$`)
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !row.MatchString(lines[1]) || !row.MatchString(lines[2]) {
		t.Fatalf("token list:\n%s", stdout)
	}
	if strings.Contains(stdout, aliceToken) || strings.Contains(stdout, bobToken) {
		t.Fatal("token list prints a token")
	}
	code, stdout, _ = runCLI(t, "", "token", "list", "alice", "--data", dir)
	m := row.FindStringSubmatch(strings.Split(stdout, "\n")[1])
	if code != 0 || strings.Count(stdout, "\n") != 2 || m == nil || m[2] != "alice" || m[3] != "ci" {
		t.Fatalf("alice's tokens:\n%s", stdout)
	}
	aliceID := m[1]

	steps := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"revoke", []string{"token", "revoke", aliceID, "--data", dir}, 0, "revoked API token " + aliceID + " of alice\n", ""},
		{"revoke again", []string{"token", "revoke", aliceID, "--data", dir}, 1, "", "trellis: token revoke: API token " + aliceID + " not found\n"},
		{"not an ID", []string{"token", "revoke", "abc", "--data", dir}, 2, "", "trellis: token revoke: \"abc\" is not a token ID; trellis token list shows them\n"},
		{"no ID", []string{"token", "revoke", "--data", dir}, 2, "", "trellis: token revoke: want one token ID (see trellis token list), got 0 arguments; usage: trellis " + tokenRevokeSynopsis + "\n"},
		{"list of unknown user", []string{"token", "list", "nobody", "--data", dir}, 1, "", "trellis: token list: user \"nobody\" not found\n"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", st.args...)
			if code != st.wantCode || stdout != st.wantStdout || stderr != st.wantStderr {
				t.Errorf("got code %d stdout %q stderr %q\nwant code %d stdout %q stderr %q",
					code, stdout, stderr, st.wantCode, st.wantStdout, st.wantStderr)
			}
		})
	}

	db := openData(t, dir)
	ctx := context.Background()
	if _, err := db.TokenUser(ctx, aliceToken); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked token still works: %v", err)
	}
	if u, err := db.TokenUser(ctx, bobToken); err != nil || u.Name != "bob" {
		t.Errorf("bob's token: %v, %v", u, err)
	}
}

func TestUserDisableEnableDelete(t *testing.T) {
	dir := t.TempDir()
	addUser(t, dir, "root", "admin")
	addUser(t, dir, "dave", "reviewer")
	token := newToken(t, dir, "dave", "ci")
	db := openData(t, dir)
	ctx := context.Background()
	dave, err := db.UserByName(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	session, err := db.CreateSession(ctx, dave.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"disable", []string{"user", "disable", "dave", "--data", dir}, 0, "disabled user dave: 1 session ended, 1 API token revoked\n", ""},
		{"no token for a disabled user", []string{"token", "create", "dave", "--data", dir}, 1, "", "trellis: token create: user \"dave\" is disabled: enable them before creating a token\n"},
		{"list", []string{"user", "list", "--data", dir}, 0, "NAME  ROLES     GROUPS  STATUS\ndave  reviewer  -       disabled\nroot  admin     -       enabled\n", ""},
		{"enable", []string{"user", "enable", "dave", "--data", dir}, 0, "enabled user dave\n", ""},
		{"last admin", []string{"user", "disable", "root", "--data", dir}, 1, "", "trellis: user disable: root is the last enabled admin: give another user the admin role first, so that someone can still manage users\n"},
		{"delete without --yes", []string{"user", "delete", "dave", "--data", dir}, 2, "", "trellis: user delete: deleting dave cannot be undone; pass --yes to confirm, or use trellis user disable\n"},
		{"delete", []string{"user", "delete", "dave", "--yes", "--data", dir}, 0, "deleted user dave\n", ""},
		{"delete unknown", []string{"user", "delete", "dave", "--yes", "--data", dir}, 1, "", "trellis: user delete: user \"dave\" not found\n"},
		{"enable unknown", []string{"user", "enable", "nobody", "--data", dir}, 1, "", "trellis: user enable: user \"nobody\" not found\n"},
		{"no name", []string{"user", "disable", "--data", dir}, 2, "", "trellis: user disable: want one user name, got 0 arguments; usage: trellis " + userDisableSynopsis + "\n"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", st.args...)
			if code != st.wantCode || stdout != st.wantStdout || stderr != st.wantStderr {
				t.Errorf("got code %d stdout %q stderr %q\nwant code %d stdout %q stderr %q",
					code, stdout, stderr, st.wantCode, st.wantStdout, st.wantStderr)
			}
			if st.name == "disable" {
				if _, err := db.SessionUser(ctx, session); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("session of the disabled user: %v", err)
				}
				if _, err := db.TokenUser(ctx, token); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("token of the disabled user: %v", err)
				}
			}
		})
	}
}
