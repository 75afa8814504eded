package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	db := MustOpenTestWith(t, Options{Now: clock.Now})
	alice, _, err := db.UpsertUser(ctx, UserInput{Name: "alice", Password: "password1", Roles: []string{RoleAnalyst}})
	if err != nil {
		t.Fatal(err)
	}
	token, err := db.CreateSession(ctx, alice.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateSession(ctx, alice.ID, 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		advance time.Duration
		token   string
		wantErr error
	}{
		{"fresh session", 0, token, nil},
		{"just before expiry", 59 * time.Minute, token, nil},
		{"at expiry", time.Minute, token, ErrNotFound},
		{"longer session still valid", 0, other, nil},
		{"unknown token", 0, "not-a-session", ErrNotFound},
		{"empty token", 0, "", ErrNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Advance(st.advance)
			u, err := db.SessionUser(ctx, st.token)
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("SessionUser = %v, want %v", err, st.wantErr)
			}
			if st.wantErr == nil && u.Name != "alice" {
				t.Errorf("SessionUser = %s, want alice", u.Name)
			}
		})
	}

	n, err := db.DeleteExpiredSessions(ctx)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if err := db.DeleteSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionUser(ctx, other); !errors.Is(err, ErrNotFound) {
		t.Errorf("SessionUser after DeleteSession = %v, want ErrNotFound", err)
	}

	if _, err := db.CreateSession(ctx, 9999, time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("CreateSession(unknown user) = %v, want ErrNotFound", err)
	}
	if _, err := db.CreateSession(ctx, alice.ID, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateSession(ttl 0) = %v, want ErrInvalid", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir := t.TempDir()
	db := openAt(t, dir, Options{Now: clock.Now})
	if _, _, err := db.UpsertUser(ctx, UserInput{Name: "bob", Password: "password1", Roles: []string{RoleDeveloper}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertUser(ctx, UserInput{Name: "carol", Password: "password1", Roles: []string{RoleReviewer}}); err != nil {
		t.Fatal(err)
	}
	token, err := db.CreateToken(ctx, "bob", " ci pipeline ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, TokenPrefix) || len(token) < len(TokenPrefix)+40 {
		t.Errorf("token %q lacks the prefix or randomness", token)
	}
	clock.Advance(time.Second)
	carolToken, err := db.CreateToken(ctx, "carol", "")
	if err != nil {
		t.Fatal(err)
	}

	lookups := []struct {
		name, token, wantUser string
		wantErr               error
	}{
		{"bob's token", token, "bob", nil},
		{"carol's token", carolToken, "carol", nil},
		{"without prefix", strings.TrimPrefix(token, TokenPrefix), "", ErrNotFound},
		{"altered token", alter(token), "", ErrNotFound},
		{"empty", "", "", ErrNotFound},
	}
	for _, lt := range lookups {
		t.Run(lt.name, func(t *testing.T) {
			u, err := db.TokenUser(ctx, lt.token)
			if !errors.Is(err, lt.wantErr) {
				t.Fatalf("TokenUser = %v, want %v", err, lt.wantErr)
			}
			if lt.wantErr == nil && u.Name != lt.wantUser {
				t.Errorf("TokenUser = %s, want %s", u.Name, lt.wantUser)
			}
		})
	}

	if _, err := db.CreateToken(ctx, "nobody", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("CreateToken(unknown user) = %v, want ErrNotFound", err)
	}
	if _, err := db.CreateToken(ctx, "bob", strings.Repeat("x", MaxTokenLabel+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateToken(long label) = %v, want ErrInvalid", err)
	}

	all, err := db.ListTokens(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("ListTokens(all) = %v, %v", all, err)
	}
	if all[0].UserName != "carol" || all[1].UserName != "bob" || all[1].Label != "ci pipeline" {
		t.Errorf("ListTokens(all) = %+v, want carol's then bob's labelled token", all)
	}
	if all[1].LastUsedAt.IsZero() {
		t.Errorf("bob's token used but LastUsedAt is zero")
	}
	bobs, err := db.ListTokens(ctx, "bob")
	if err != nil || len(bobs) != 1 {
		t.Fatalf("ListTokens(bob) = %v, %v", bobs, err)
	}
	if err := db.RevokeToken(ctx, bobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TokenUser(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token still works: %v", err)
	}
	if err := db.RevokeToken(ctx, bobs[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second RevokeToken = %v, want ErrNotFound", err)
	}

	// Only hashes are stored: neither the raw tokens nor the session token appear in the file.
	carol, err := db.UserByName(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	session, err := db.CreateSession(ctx, carol.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw := dbFileBytes(t, dir)
	for _, secret := range []string{carolToken, strings.TrimPrefix(carolToken, TokenPrefix), session} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the database file contains the raw token %q", secret)
		}
	}
}

// alter changes the last character of a token.
func alter(token string) string {
	last := "A"
	if strings.HasSuffix(token, "A") {
		last = "B"
	}
	return token[:len(token)-1] + last
}
