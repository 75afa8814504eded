package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"trellis/store"
)

func TestAdminUsers(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("root", store.RoleAdmin)
	app.user("alice", store.RoleAnalyst)

	list := admin.get("/admin/users")
	wantStatus(t, list, http.StatusOK)
	for _, want := range []string{`data-testid="user-row-alice"`, `data-testid="user-row-root"`, `data-testid="user-form"`, `aria-current="page"`} {
		if !strings.Contains(list.Body, want) {
			t.Errorf("user list lacks %s", want)
		}
	}

	// Add a user.
	r := admin.postForm("/admin/users", url.Values{
		"name": {"rita"}, "password": {"a-long-password"}, "roles": {store.RoleReviewer, store.RoleDeveloper}, "groups": {"finance, legal"},
	})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/users?created=1&saved=rita" {
		t.Fatalf("Location = %q", loc)
	}
	u, err := app.DB.UserByName(context.Background(), "rita")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Roles, []string{store.RoleDeveloper, store.RoleReviewer}) || !slices.Equal(u.Groups, []string{"finance", "legal"}) {
		t.Fatalf("saved user = %+v", u)
	}
	if body := admin.get(r.Header.Get("Location")).Body; !strings.Contains(body, "Added rita.") {
		t.Errorf("no confirmation after adding:\n%s", body)
	}
	app.client().login("rita", "a-long-password")

	// Update it: no password keeps the old one; roles and groups are replaced.
	r = admin.postForm("/admin/users", url.Values{"name": {"rita"}, "roles": {store.RoleAnalyst}})
	wantStatus(t, r, http.StatusSeeOther)
	u, _ = app.DB.UserByName(context.Background(), "rita")
	if !slices.Equal(u.Roles, []string{store.RoleAnalyst}) || len(u.Groups) != 0 {
		t.Fatalf("updated user = %+v", u)
	}
	app.client().login("rita", "a-long-password")

	// The confirmation names only real users.
	if body := admin.get("/admin/users?saved=Call+555-0100&created=1").Body; strings.Contains(body, "555-0100") {
		t.Error("the confirmation echoes an arbitrary name")
	}
}

func TestAdminUsersInvalid(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("root", store.RoleAdmin)
	tests := []struct {
		name   string
		form   url.Values
		field  string // data-testid of the inline error
		answer string // part of the message
	}{
		{"bad name", url.Values{"name": {"Not Valid"}, "password": {"a-long-password"}}, "user-name-error", "is not valid"},
		{"new user without password", url.Values{"name": {"newbie"}}, "user-password-error", "needs a password"},
		{"short password", url.Values{"name": {"newbie"}, "password": {"short"}}, "user-password-error", "at least 8"},
		{"unknown role", url.Values{"name": {"newbie"}, "password": {"a-long-password"}, "roles": {"wizard"}}, "user-roles-error", "Unknown role"},
		{"bad group", url.Values{"name": {"newbie"}, "password": {"a-long-password"}, "groups": {"Fin@nce"}}, "user-groups-error", "is not valid"},
		{"demote self", url.Values{"name": {"root"}, "roles": {store.RoleAnalyst}}, "user-roles-error", "admin role away from yourself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := admin.postForm("/admin/users", tt.form)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if !strings.Contains(r.Body, `data-testid="`+tt.field+`"`) || !strings.Contains(r.Body, tt.answer) {
				t.Fatalf("no inline error %s with %q:\n%s", tt.field, tt.answer, r.Body)
			}
			if !strings.Contains(r.Body, `aria-invalid="true"`) && tt.field != "user-roles-error" {
				t.Error("the field is not marked invalid")
			}
			if name := tt.form.Get("name"); !strings.Contains(r.Body, `value="`+name+`"`) {
				t.Error("the form lost the name")
			}
		})
	}
	users, err := app.DB.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || !slices.Contains(users[0].Roles, store.RoleAdmin) {
		t.Fatalf("invalid forms changed users: %+v", users)
	}
}
