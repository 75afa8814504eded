package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// mustUser creates a user with password "password1" or fails the test.
func mustUser(t *testing.T, db *DB, name string, roles ...string) *User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), UserInput{Name: name, Password: "password1", Roles: roles})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// liveSessions returns which of the tokens still name a session.
func liveSessions(t *testing.T, db *DB, tokens ...string) []bool {
	t.Helper()
	out := make([]bool, len(tokens))
	for i, tok := range tokens {
		_, err := db.SessionUser(context.Background(), tok)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		out[i] = err == nil
	}
	return out
}

func TestCreateUserRefusesExisting(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	if _, err := db.CreateUser(ctx, UserInput{Name: "dave", Password: "password1", Roles: []string{RoleReviewer}, Groups: []string{"legal"}}); err != nil {
		t.Fatal(err)
	}
	_, err := db.CreateUser(ctx, UserInput{Name: "dave", Password: "password2"})
	if !errors.Is(err, ErrConflict) || err.Error() != `a user named "dave" already exists` {
		t.Fatalf("second CreateUser = %v, want ErrConflict", err)
	}
	dave, err := db.UserByName(ctx, "dave")
	if err != nil || !slices.Equal(dave.Roles, []string{RoleReviewer}) || !slices.Equal(dave.Groups, []string{"legal"}) {
		t.Fatalf("dave after the refused add = %+v, %v", dave, err)
	}
	if _, err := db.Authenticate(ctx, "dave", "password1"); err != nil {
		t.Errorf("the refused add changed the password: %v", err)
	}
	if _, err := db.CreateUser(ctx, UserInput{Name: "erin"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateUser without a password = %v, want ErrInvalid", err)
	}
}

// TestUpdateUserEndsSessions: a new password or a change of roles ends the user's sessions
// (except the one to keep); groups alone, or the same password again, do not.
func TestUpdateUserEndsSessions(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	mustUser(t, db, "root", RoleAdmin)
	dave := mustUser(t, db, "dave", RoleReviewer)
	other := mustUser(t, db, "other", RoleReviewer)
	otherSession, err := db.CreateSession(ctx, other.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		up          UserUpdate
		keep        bool // pass the first session as KeepSession
		wantChange  UserChange
		wantLive    []bool
		wantRoles   []string
		wantSignsIn string
	}{
		{"groups only", UserUpdate{Roles: []string{RoleReviewer}, Groups: []string{"legal"}}, false,
			UserChange{GroupsChanged: true}, []bool{true, true}, []string{RoleReviewer}, "password1"},
		{"same password again", UserUpdate{Roles: []string{RoleReviewer}, Groups: []string{"legal"}, Password: "password1"}, false,
			UserChange{}, []bool{true, true}, []string{RoleReviewer}, "password1"},
		{"new password", UserUpdate{Roles: []string{RoleReviewer}, Groups: []string{"legal"}, Password: "password2"}, false,
			UserChange{PasswordChanged: true, SessionsEnded: 2}, []bool{false, false}, []string{RoleReviewer}, "password2"},
		{"role added", UserUpdate{Roles: []string{RoleReviewer, RoleAnalyst}, Groups: []string{"legal"}}, false,
			UserChange{RolesAdded: []string{RoleAnalyst}, SessionsEnded: 2}, []bool{false, false}, []string{RoleAnalyst, RoleReviewer}, "password2"},
		{"role removed keeps the editor's session", UserUpdate{Roles: []string{RoleAnalyst}, Groups: []string{"legal"}}, true,
			UserChange{RolesRemoved: []string{RoleReviewer}, SessionsEnded: 1}, []bool{true, false}, []string{RoleAnalyst}, "password2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Start each step with exactly two sessions.
			if _, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, dave.ID); err != nil {
				t.Fatal(err)
			}
			s1, err := db.CreateSession(ctx, dave.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := db.CreateSession(ctx, dave.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			up := tt.up
			if tt.keep {
				up.KeepSession = s1
			}
			u, ch, err := db.UpdateUser(ctx, "dave", up)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.RolesAdded, tt.wantChange.RolesAdded) || !slices.Equal(ch.RolesRemoved, tt.wantChange.RolesRemoved) ||
				ch.GroupsChanged != tt.wantChange.GroupsChanged || ch.PasswordChanged != tt.wantChange.PasswordChanged ||
				ch.SessionsEnded != tt.wantChange.SessionsEnded {
				t.Errorf("change = %+v, want %+v", ch, tt.wantChange)
			}
			if !slices.Equal(u.Roles, tt.wantRoles) {
				t.Errorf("roles = %v, want %v", u.Roles, tt.wantRoles)
			}
			if got := liveSessions(t, db, s1, s2); !slices.Equal(got, tt.wantLive) {
				t.Errorf("sessions live = %v, want %v", got, tt.wantLive)
			}
			if _, err := db.Authenticate(ctx, "dave", tt.wantSignsIn); err != nil {
				t.Errorf("sign in with %q: %v", tt.wantSignsIn, err)
			}
		})
	}
	if got := liveSessions(t, db, otherSession); !got[0] {
		t.Error("another user's session ended")
	}
	if _, _, err := db.UpdateUser(ctx, "nobody", UserUpdate{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := db.UpdateUser(ctx, "dave", UserUpdate{Roles: []string{"boss"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("UpdateUser(unknown role) = %v, want ErrInvalid", err)
	}
}

// TestTokenFollowsRoles: API tokens survive a change of roles and act with the new roles at
// once, because TokenUser reads the roles on every call.
// TestTokenRevokedOnPasswordOrRoleRemoval: issue 18's probe found API tokens outliving a
// password change and a role taken away. Both now revoke the user's tokens; a role added keeps
// them, and they act with the new roles.
func TestTokenRevokedOnPasswordOrRoleRemoval(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	mustUser(t, db, "dave", RoleAnalyst)
	mustUser(t, db, "erin", RoleAnalyst)
	erinToken, err := db.CreateToken(ctx, "erin", "ci")
	if err != nil {
		t.Fatal(err)
	}
	newToken := func() string {
		tok, err := db.CreateToken(ctx, "dave", "ci")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	token := newToken()
	_, ch, err := db.UpdateUser(ctx, "dave", UserUpdate{Roles: []string{RoleAnalyst, RoleReviewer}})
	if err != nil || ch.TokensRevoked != 0 {
		t.Fatalf("role added: %+v, %v", ch, err)
	}
	u, err := db.TokenUser(ctx, token)
	if err != nil || !u.HasRole(RoleReviewer) {
		t.Fatalf("token after a role was added: %v, %v", u, err)
	}

	_, ch, err = db.UpdateUser(ctx, "dave", UserUpdate{Roles: []string{RoleReviewer}})
	if err != nil || ch.TokensRevoked != 1 {
		t.Fatalf("role removed: %+v, %v", ch, err)
	}
	if _, err := db.TokenUser(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token after a role was removed: %v", err)
	}

	token = newToken()
	_, ch, err = db.UpdateUser(ctx, "dave", UserUpdate{Roles: []string{RoleReviewer}, Password: "another-password"})
	if err != nil || ch.TokensRevoked != 1 || !ch.PasswordChanged {
		t.Fatalf("password changed: %+v, %v", ch, err)
	}
	if _, err := db.TokenUser(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token after a password change: %v", err)
	}
	if _, err := db.TokenUser(ctx, erinToken); err != nil {
		t.Fatalf("another user's token stopped: %v", err)
	}
}

func TestDisableUser(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	mustUser(t, db, "root", RoleAdmin)
	dave := mustUser(t, db, "dave", RoleReviewer)
	s1, err := db.CreateSession(ctx, dave.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateToken(ctx, "dave", "ci")
	if err != nil {
		t.Fatal(err)
	}

	ended, err := db.DisableUser(ctx, "dave")
	if err != nil || ended != (AccessEnded{Sessions: 1, Tokens: 1}) {
		t.Fatalf("DisableUser = %+v, %v; want 1 session and 1 token ended", ended, err)
	}
	checks := []struct {
		name    string
		err     error
		wantErr error
	}{
		{"session", func() error { _, err := db.SessionUser(ctx, s1); return err }(), ErrNotFound},
		{"token", func() error { _, err := db.TokenUser(ctx, tok); return err }(), ErrNotFound},
		{"sign in", func() error { _, err := db.Authenticate(ctx, "dave", "password1"); return err }(), ErrBadCredentials},
		{"new session", func() error { _, err := db.CreateSession(ctx, dave.ID, time.Hour); return err }(), ErrConflict},
		{"new token", func() error { _, err := db.CreateToken(ctx, "dave", "x"); return err }(), ErrConflict},
		{"again", func() error { _, err := db.DisableUser(ctx, "dave"); return err }(), nil},
		{"unknown", func() error { _, err := db.DisableUser(ctx, "nobody"); return err }(), ErrNotFound},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.wantErr) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.wantErr)
		}
	}
	u, err := db.UserByName(ctx, "dave")
	if err != nil || !u.Disabled() {
		t.Fatalf("dave = %+v, %v; want disabled", u, err)
	}

	if err := db.EnableUser(ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(ctx, "dave", "password1"); err != nil {
		t.Errorf("sign in after enabling: %v", err)
	}
	if _, err := db.TokenUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("a revoked token came back on enabling: %v", err)
	}
	if err := db.EnableUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("EnableUser(unknown) = %v, want ErrNotFound", err)
	}
}

// TestDisabledFlagRefusesAccess: the flag alone refuses sessions and tokens, even ones that
// somehow outlived the disabling (e.g. made by an older binary sharing the data dir).
func TestDisabledFlagRefusesAccess(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	dave := mustUser(t, db, "dave", RoleReviewer)
	session, err := db.CreateSession(ctx, dave.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateToken(ctx, "dave", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, `UPDATE users SET disabled_at = 1 WHERE id = ?`, dave.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionUser(ctx, session); !errors.Is(err, ErrNotFound) {
		t.Errorf("session of a disabled user = %v, want ErrNotFound", err)
	}
	if _, err := db.TokenUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("token of a disabled user = %v, want ErrNotFound", err)
	}
}

// TestLastAdmin: the last enabled admin cannot lose the role, be disabled or be deleted.
func TestLastAdmin(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	mustUser(t, db, "root", RoleAdmin)
	mustUser(t, db, "spare", RoleAdmin)
	if _, err := db.DisableUser(ctx, "spare"); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		do   func() error
	}{
		{"remove the role", func() error {
			_, _, err := db.UpdateUser(ctx, "root", UserUpdate{Roles: []string{RoleAnalyst}})
			return err
		}},
		{"disable", func() error { _, err := db.DisableUser(ctx, "root"); return err }},
		{"delete", func() error { return db.DeleteUser(ctx, "root") }},
		{"upsert without admin", func() error {
			_, _, err := db.UpsertUser(ctx, UserInput{Name: "root", Roles: []string{RoleDeveloper}})
			return err
		}},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			err := r.do()
			if !errors.Is(err, ErrConflict) || err.Error() != "root is the last enabled admin: give another user the admin role first, so that someone can still manage users" {
				t.Fatalf("got %v, want the last-admin conflict", err)
			}
			root, err := db.UserByName(ctx, "root")
			if err != nil || root.Disabled() || !slices.Equal(root.Roles, []string{RoleAdmin}) {
				t.Fatalf("root after the refusal = %+v, %v", root, err)
			}
		})
	}
	// A disabled admin may be deleted, and with another enabled admin root may go.
	if err := db.EnableUser(ctx, "spare"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpdateUser(ctx, "root", UserUpdate{Roles: []string{RoleAnalyst}}); err != nil {
		t.Fatalf("with another admin: %v", err)
	}
	if err := db.DeleteUser(ctx, "spare"); !errors.Is(err, ErrConflict) {
		t.Fatalf("deleting the now last admin = %v, want ErrConflict", err)
	}
}

func TestRevokeUserToken(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	mustUser(t, db, "dave", RoleReviewer)
	mustUser(t, db, "erin", RoleReviewer)
	if _, err := db.CreateToken(ctx, "dave", "ci"); err != nil {
		t.Fatal(err)
	}
	tokens, err := db.ListTokens(ctx, "dave")
	if err != nil || len(tokens) != 1 {
		t.Fatalf("ListTokens = %v, %v", tokens, err)
	}
	if err := db.RevokeUserToken(ctx, "erin", tokens[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking dave's token as erin's = %v, want ErrNotFound", err)
	}
	if err := db.RevokeUserToken(ctx, "dave", tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	if tokens, _ := db.ListTokens(ctx, "dave"); len(tokens) != 0 {
		t.Fatalf("tokens after revoking = %+v", tokens)
	}
}
