package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestUpsertUser(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	tests := []struct {
		name        string
		in          UserInput
		wantErr     error
		wantCreated bool
		wantRoles   []string
		wantGroups  []string
	}{
		{"create", UserInput{Name: "alice", Password: "password1", Roles: []string{"reviewer", "analyst", "analyst"}, Groups: []string{"finance"}},
			nil, true, []string{"analyst", "reviewer"}, []string{"finance"}},
		{"update keeps password, replaces roles and groups", UserInput{Name: "alice", Roles: []string{"developer"}},
			nil, false, []string{"developer"}, []string{}},
		{"new user needs a password", UserInput{Name: "bob", Roles: []string{"analyst"}}, ErrInvalid, false, nil, nil},
		{"short password", UserInput{Name: "bob", Password: "short", Roles: []string{"analyst"}}, ErrInvalid, false, nil, nil},
		{"password over 72 bytes", UserInput{Name: "bob", Password: string(make([]byte, 73)), Roles: []string{"analyst"}}, ErrInvalid, false, nil, nil},
		{"unknown role", UserInput{Name: "bob", Password: "password1", Roles: []string{"boss"}}, ErrInvalid, false, nil, nil},
		{"uppercase name", UserInput{Name: "Bob", Password: "password1"}, ErrInvalid, false, nil, nil},
		{"name starting with dot", UserInput{Name: ".bob", Password: "password1"}, ErrInvalid, false, nil, nil},
		{"name too long", UserInput{Name: "a234567890123456789012345678901234567890123456789012345678901234x", Password: "password1"}, ErrInvalid, false, nil, nil},
		{"bad group", UserInput{Name: "bob", Password: "password1", Groups: []string{"Fin Ance"}}, ErrInvalid, false, nil, nil},
		{"no roles is allowed", UserInput{Name: "carol.x_y-z", Password: "password1"}, nil, true, []string{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, created, err := db.UpsertUser(ctx, tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("UpsertUser error = %v, want %v", err, tt.wantErr)
				}
				if u != nil {
					t.Errorf("UpsertUser returned a user with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("UpsertUser: %v", err)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if u.Name != tt.in.Name || !slices.Equal(u.Roles, tt.wantRoles) || !slices.Equal(u.Groups, tt.wantGroups) {
				t.Errorf("user = %+v, want roles %v groups %v", u, tt.wantRoles, tt.wantGroups)
			}
		})
	}
	if _, err := db.UserByName(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("failed upserts left a user bob behind: %v", err)
	}
	if _, err := db.Authenticate(ctx, "alice", "password1"); err != nil {
		t.Errorf("the update without a password changed the password: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	alice, _, err := db.UpsertUser(ctx, UserInput{Name: "alice", Password: "correct horse", Roles: []string{RoleAnalyst}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, password string
		wantErr              error
	}{
		{"right password", "alice", "correct horse", nil},
		{"wrong password", "alice", "wrong horse!", ErrBadCredentials},
		{"unknown user", "mallory", "correct horse", ErrBadCredentials},
		{"empty password", "alice", "", ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := db.Authenticate(ctx, tt.user, tt.password)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && u.ID != alice.ID {
				t.Errorf("Authenticate returned user %d, want %d", u.ID, alice.ID)
			}
			if tt.wantErr != nil && u != nil {
				t.Errorf("Authenticate returned a user with an error")
			}
		})
	}
	// Unknown user and wrong password must read the same to the caller.
	_, e1 := db.Authenticate(ctx, "alice", "nope-nope")
	_, e2 := db.Authenticate(ctx, "nobody", "nope-nope")
	if e1.Error() != e2.Error() {
		t.Errorf("messages differ: %q vs %q", e1, e2)
	}

	// A new password replaces the old one.
	if _, _, err := db.UpsertUser(ctx, UserInput{Name: "alice", Password: "battery staple", Roles: []string{RoleAnalyst}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(ctx, "alice", "correct horse"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password still works: %v", err)
	}
	if _, err := db.Authenticate(ctx, "alice", "battery staple"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestRolesAndGroups(t *testing.T) {
	tests := []struct {
		name   string
		user   User
		role   string
		group  string
		wantHR bool
		wantIG bool
	}{
		{"analyst has analyst", User{Roles: []string{RoleAnalyst}}, RoleAnalyst, "x", true, false},
		{"analyst lacks reviewer", User{Roles: []string{RoleAnalyst}}, RoleReviewer, "x", false, false},
		{"admin has every role", User{Roles: []string{RoleAdmin}}, RoleDeveloper, "x", true, false},
		{"no roles", User{}, RoleAnalyst, "x", false, false},
		{"in group", User{Groups: []string{"finance", "ops"}}, RoleAnalyst, "ops", false, true},
		{"admin is not in every group", User{Roles: []string{RoleAdmin}}, RoleAdmin, "ops", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.user.HasRole(tt.role); got != tt.wantHR {
				t.Errorf("HasRole(%q) = %v, want %v", tt.role, got, tt.wantHR)
			}
			if got := tt.user.InGroup(tt.group); got != tt.wantIG {
				t.Errorf("InGroup(%q) = %v, want %v", tt.group, got, tt.wantIG)
			}
		})
	}
}

func TestUserQueries(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	for _, in := range []UserInput{
		{Name: "carol", Password: "password1", Roles: []string{RoleReviewer}, Groups: []string{"finance", "legal"}},
		{Name: "alice", Password: "password1", Roles: []string{RoleAnalyst}, Groups: []string{"finance"}},
		{Name: "bob", Password: "password1", Roles: []string{RoleAdmin}},
	} {
		if _, _, err := db.UpsertUser(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	users, err := db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"alice", "bob", "carol"}) {
		t.Errorf("ListUsers names = %v", names)
	}
	if !slices.Equal(users[2].Groups, []string{"finance", "legal"}) {
		t.Errorf("carol's groups = %v", users[2].Groups)
	}

	groupTests := []struct {
		group string
		want  []string
	}{
		{"finance", []string{"alice", "carol"}},
		{"legal", []string{"carol"}},
		{"nobody-here", []string{}},
	}
	for _, tt := range groupTests {
		got, err := db.GroupMembers(ctx, tt.group)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("GroupMembers(%q) = %v, %v; want %v", tt.group, got, err, tt.want)
		}
	}
	if _, err := db.GroupMembers(ctx, "Bad Group"); !errors.Is(err, ErrInvalid) {
		t.Errorf("GroupMembers(bad name) = %v, want ErrInvalid", err)
	}

	bob, err := db.UserByName(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	byID, err := db.UserByID(ctx, bob.ID)
	if err != nil || byID.Name != "bob" || !byID.HasRole(RoleReviewer) {
		t.Errorf("UserByID = %+v, %v", byID, err)
	}
	if _, err := db.UserByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v, want ErrNotFound", err)
	}

	token, err := db.CreateToken(ctx, "carol", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "carol"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteUser = %v, want ErrNotFound", err)
	}
	if _, err := db.TokenUser(ctx, token); !errors.Is(err, ErrNotFound) {
		t.Errorf("token of a deleted user still works: %v", err)
	}
	if got, _ := db.GroupMembers(ctx, "finance"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("finance after deleting carol = %v", got)
	}
}
