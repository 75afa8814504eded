package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// withRoleProbes mounts an API route per role that answers 200, to see what a token may do.
func withRoleProbes() appOption {
	ok := func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"user": CurrentUser(c).Name})
	}
	var routes []Route
	for _, r := range store.Roles {
		routes = append(routes, Route{Method: http.MethodGet, Path: "/api/v1/probe/" + r, Roles: []string{r}, Handler: ok})
	}
	return withRoutes(routes...)
}

// bearer sends GET path with an API token.
func (a *testApp) bearer(token, path string) *testResponse {
	a.tb.Helper()
	return a.client().get(path, "Authorization", "Bearer "+token)
}

// mustUserState reads a user or fails the test.
func (a *testApp) mustUserState(name string) *store.User {
	a.tb.Helper()
	u, err := a.DB.UserByName(context.Background(), name)
	if err != nil {
		a.tb.Fatalf("user %s: %v", name, err)
	}
	return u
}

// wantSignedOut fails unless c's session no longer works: a page sends it to /login.
func wantSignedOut(t *testing.T, c *testClient) {
	t.Helper()
	r := c.get("/")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Fatalf("Location = %q, want /login", loc)
	}
}

func TestAdminUsers(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("root", store.RoleAdmin)
	app.user("alice", store.RoleAnalyst)
	app.user("nobody")

	list := admin.get("/admin/users")
	wantStatus(t, list, http.StatusOK)
	for _, want := range []string{`data-testid="user-row-alice"`, `data-testid="user-row-root"`, `data-testid="user-form"`, `aria-current="page"`,
		`href="/admin/users/alice"`, `data-testid="user-norole-nobody"`} {
		if !strings.Contains(list.Body, want) {
			t.Errorf("user list lacks %s", want)
		}
	}
	if strings.Contains(list.Body, `data-testid="user-norole-alice"`) {
		t.Error("alice, who has a role, is flagged as having none")
	}

	r := admin.postForm("/admin/users", url.Values{
		"name": {"rita"}, "password": {"a-long-password"}, "roles": {store.RoleReviewer, store.RoleDeveloper}, "groups": {"finance, legal"},
	})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/users?added=rita" {
		t.Fatalf("Location = %q", loc)
	}
	u := app.mustUserState("rita")
	if !slices.Equal(u.Roles, []string{store.RoleDeveloper, store.RoleReviewer}) || !slices.Equal(u.Groups, []string{"finance", "legal"}) {
		t.Fatalf("saved user = %+v", u)
	}
	if body := admin.get(r.Header.Get("Location")).Body; !strings.Contains(body, `data-testid="user-saved"`) || !strings.Contains(body, "rita</a>.") {
		t.Errorf("no confirmation after adding:\n%s", body)
	}
	app.client().login("rita", "a-long-password")

	// The confirmations name only real (or really deleted) users.
	for _, q := range []string{"added=Call+555-0100", "deleted=Call+555-0100", "deleted=rita"} {
		if body := admin.get("/admin/users?" + q).Body; strings.Contains(body, "555-0100") || strings.Contains(body, `data-testid="user-deleted"`) {
			t.Errorf("?%s: the confirmation echoes a name that is not a deleted user", q)
		}
	}
}

// TestAdminUsersAddRefusesExisting is issue #11: a name-only "add" for an existing user used to
// wipe their roles and groups. Now it changes nothing and points at the user's page.
func TestAdminUsersAddRefusesExisting(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("root", store.RoleAdmin)
	if _, err := app.DB.CreateUser(context.Background(), store.UserInput{Name: "dave", Password: testPassword,
		Roles: []string{store.RoleReviewer}, Groups: []string{"legal"}}); err != nil {
		t.Fatal(err)
	}
	forms := []struct {
		name string
		form url.Values
	}{
		{"name only", url.Values{"name": {"dave"}}},
		{"with password and other roles", url.Values{"name": {"dave"}, "password": {"another-password"}, "roles": {store.RoleAnalyst}}},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			r := admin.postForm("/admin/users", f.form)
			wantStatus(t, r, http.StatusConflict)
			for _, want := range []string{"A user named dave already exists", `data-testid="user-form-existing"`, `href="/admin/users/dave"`, `aria-invalid="true"`} {
				if !strings.Contains(r.Body, want) {
					t.Errorf("refusal lacks %s:\n%s", want, r.Body)
				}
			}
			u := app.mustUserState("dave")
			if !slices.Equal(u.Roles, []string{store.RoleReviewer}) || !slices.Equal(u.Groups, []string{"legal"}) {
				t.Fatalf("dave changed: %+v", u)
			}
			app.client().login("dave", testPassword)
		})
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

// TestAdminUserEdit: the page shows the user as stored; saving groups keeps roles and
// sessions; a new password signs the user out but keeps their API token.
func TestAdminUserEdit(t *testing.T) {
	app := newTestApp(t, withRoleProbes())
	admin := app.signedIn("root", store.RoleAdmin)
	dave := app.signedIn("dave", store.RoleReviewer, store.RoleAnalyst)
	token := app.token("dave")

	page := admin.get("/admin/users/dave")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`data-testid="user-edit-form"`, `action="/admin/users/dave"`, `name="_csrf"`,
		`value="reviewer" checked`, `value="analyst" checked`, `data-testid="user-tokens"`, `href="/admin/users/dave/delete"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("edit page lacks %s", want)
		}
	}
	if strings.Contains(page.Body, `value="admin" checked`) || strings.Contains(page.Body, `data-testid="user-norole-warning"`) {
		t.Error("edit page shows a role dave lacks, or warns about roles")
	}
	wantStatus(t, admin.get("/admin/users/nobody"), http.StatusNotFound)

	// Groups only: roles kept, still signed in.
	r := admin.postForm("/admin/users/dave", url.Values{"roles": {store.RoleAnalyst, store.RoleReviewer}, "groups": {"legal, finance"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/users/dave?done=saved" {
		t.Fatalf("Location = %q", loc)
	}
	u := app.mustUserState("dave")
	if !slices.Equal(u.Roles, []string{store.RoleAnalyst, store.RoleReviewer}) || !slices.Equal(u.Groups, []string{"finance", "legal"}) {
		t.Fatalf("after saving groups: %+v", u)
	}
	wantStatus(t, dave.get("/"), http.StatusOK)
	if body := admin.get(r.Header.Get("Location")).Body; !strings.Contains(body, "Saved dave.") {
		t.Error("no notice after saving")
	}

	// A new password ends dave's session and stops his API token at once (issue 18: both
	// outlived a password change).
	wantStatus(t, app.bearer(token, "/api/v1/probe/analyst"), http.StatusOK)
	r = admin.postForm("/admin/users/dave", url.Values{"roles": {store.RoleAnalyst, store.RoleReviewer}, "groups": {"finance legal"}, "password": {"a-new-password"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/users/dave?done=signed-out-revoked" {
		t.Fatalf("Location = %q", loc)
	}
	if body := admin.get(r.Header.Get("Location")).Body; !strings.Contains(body, "revoked their API tokens") {
		t.Error("the notice does not say the tokens were revoked")
	}
	wantSignedOut(t, dave)
	app.client().login("dave", "a-new-password")
	wantAPIError(t, app.bearer(token, "/api/v1/probe/analyst"), http.StatusUnauthorized, "unauthorized")

	// Invalid input changes nothing and keeps the form.
	r = admin.postForm("/admin/users/dave", url.Values{"roles": {store.RoleAnalyst, store.RoleReviewer}, "groups": {"Bad Group"}, "password": {"short"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{`data-testid="user-edit-groups-error"`, `data-testid="user-edit-password-error"`, `value="Bad Group"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("invalid save lacks %s", want)
		}
	}
	if u := app.mustUserState("dave"); !slices.Equal(u.Groups, []string{"finance", "legal"}) {
		t.Fatalf("an invalid save changed groups: %v", u.Groups)
	}
}

// TestAdminUserRemoveRolesConfirm: a save that removes roles asks first and saves nothing;
// only the confirmed form saves, and the user's tokens stop with the role.
func TestAdminUserRemoveRolesConfirm(t *testing.T) {
	app := newTestApp(t, withRoleProbes())
	admin := app.signedIn("root", store.RoleAdmin)
	dave := app.signedIn("dave", store.RoleReviewer, store.RoleAnalyst)
	token := app.token("dave")
	wantStatus(t, app.bearer(token, "/api/v1/probe/reviewer"), http.StatusOK)

	ask := admin.postForm("/admin/users/dave", url.Values{"roles": {store.RoleAnalyst}, "password": {"typed-password"}})
	wantStatus(t, ask, http.StatusOK)
	for _, want := range []string{`data-testid="user-confirm-roles"`, "Remove the role reviewer from dave?", `name="confirm_remove" value="reviewer"`,
		`data-testid="user-edit-confirm"`, `data-testid="user-password-again"`} {
		if !strings.Contains(ask.Body, want) {
			t.Errorf("confirmation lacks %s:\n%s", want, ask.Body)
		}
	}
	if strings.Contains(ask.Body, "typed-password") {
		t.Error("the confirmation sends the password back to the browser")
	}
	if u := app.mustUserState("dave"); !slices.Equal(u.Roles, []string{store.RoleAnalyst, store.RoleReviewer}) {
		t.Fatalf("asking changed roles: %v", u.Roles)
	}
	wantStatus(t, dave.get("/"), http.StatusOK)

	// A confirmation for other roles than the form removes asks again.
	again := admin.postForm("/admin/users/dave", url.Values{"roles": {}, "confirm_remove": {"reviewer"}})
	wantStatus(t, again, http.StatusOK)
	for _, want := range []string{"Remove the roles analyst and reviewer from dave?", `data-testid="user-confirm-norole"`} {
		if !strings.Contains(again.Body, want) {
			t.Errorf("second question lacks %s", want)
		}
	}
	if u := app.mustUserState("dave"); len(u.Roles) != 2 {
		t.Fatalf("a stale confirmation changed roles: %v", u.Roles)
	}

	r := admin.postForm("/admin/users/dave", url.Values{"roles": {store.RoleAnalyst}, "confirm_remove": {"reviewer"}})
	wantStatus(t, r, http.StatusSeeOther)
	if u := app.mustUserState("dave"); !slices.Equal(u.Roles, []string{store.RoleAnalyst}) {
		t.Fatalf("confirmed roles = %v", u.Roles)
	}
	wantSignedOut(t, dave)
	// A role taken away stops the token made under the old roles (issue 18).
	wantAPIError(t, app.bearer(token, "/api/v1/probe/analyst"), http.StatusUnauthorized, "unauthorized")

	// Adding a role needs no question, and a token keeps working with the new role.
	token = app.token("dave")
	r = admin.postForm("/admin/users/dave", url.Values{"roles": {store.RoleAnalyst, store.RoleDeveloper}})
	wantStatus(t, r, http.StatusSeeOther)
	wantStatus(t, app.bearer(token, "/api/v1/probe/analyst"), http.StatusOK)

	// A user left with no role is flagged on their page.
	admin.postForm("/admin/users/dave", url.Values{"confirm_remove": {"analyst,developer"}})
	page := admin.get("/admin/users/dave")
	if !strings.Contains(page.Body, `data-testid="user-norole-warning"`) {
		t.Errorf("no warning for a user without a role:\n%s", page.Body)
	}
}

// TestAdminUserDisable: a disabled user's session and token fail on the very next request and
// they cannot sign in; enabling lets them sign in but does not bring the token back.
func TestAdminUserDisable(t *testing.T) {
	app := newTestApp(t, withRoleProbes())
	admin := app.signedIn("root", store.RoleAdmin)
	dave := app.signedIn("dave", store.RoleReviewer)
	token := app.token("dave")
	wantStatus(t, app.bearer(token, "/api/v1/probe/reviewer"), http.StatusOK)

	// Without the CSRF token nothing happens.
	wantStatus(t, admin.postFormRaw("/admin/users/dave/disable", url.Values{}), http.StatusForbidden)
	wantStatus(t, dave.get("/"), http.StatusOK)

	r := admin.postForm("/admin/users/dave/disable", nil)
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/users/dave?done=disabled" {
		t.Fatalf("Location = %q", loc)
	}
	wantSignedOut(t, dave)
	wantAPIError(t, app.bearer(token, "/api/v1/probe/reviewer"), http.StatusUnauthorized, "unauthorized")
	if r := app.client().postForm("/login", url.Values{"name": {"dave"}, "password": {testPassword}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled user signed in: %d", r.StatusCode)
	}
	page := admin.get("/admin/users/dave?done=disabled")
	for _, want := range []string{`data-testid="user-edit-disabled"`, `data-testid="user-enable"`, "Disabled dave"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("page of a disabled user lacks %s", want)
		}
	}
	if list := admin.get("/admin/users").Body; !strings.Contains(list, `data-testid="user-disabled-dave"`) {
		t.Error("the list does not mark dave disabled")
	}

	wantStatus(t, admin.postForm("/admin/users/dave/enable", nil), http.StatusSeeOther)
	app.client().login("dave", testPassword)
	wantAPIError(t, app.bearer(token, "/api/v1/probe/reviewer"), http.StatusUnauthorized, "unauthorized")
}

func TestAdminUserDelete(t *testing.T) {
	app := newTestApp(t, withRoleProbes())
	admin := app.signedIn("root", store.RoleAdmin)
	dave := app.signedIn("dave", store.RoleReviewer)
	token := app.token("dave")

	confirm := admin.get("/admin/users/dave/delete")
	wantStatus(t, confirm, http.StatusOK)
	for _, want := range []string{`data-testid="user-delete-confirm"`, `method="post" action="/admin/users/dave/delete"`, `name="_csrf"`, "loses their API token"} {
		if !strings.Contains(confirm.Body, want) {
			t.Errorf("confirmation page lacks %s", want)
		}
	}
	wantStatus(t, dave.get("/"), http.StatusOK)

	r := admin.postForm("/admin/users/dave/delete", nil)
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/admin/users?deleted=dave" {
		t.Fatalf("Location = %q", loc)
	}
	wantSignedOut(t, dave)
	wantAPIError(t, app.bearer(token, "/api/v1/probe/reviewer"), http.StatusUnauthorized, "unauthorized")
	if body := admin.get("/admin/users?deleted=dave").Body; !strings.Contains(body, "Deleted dave.") || strings.Contains(body, "user-row-dave") {
		t.Error("the list does not confirm the deletion")
	}
	wantStatus(t, admin.postForm("/admin/users/dave/delete", nil), http.StatusNotFound)
}

// TestAdminUserSelf: admins cannot demote, disable or delete themselves; the page says why.
func TestAdminUserSelf(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("root", store.RoleAdmin)
	tests := []struct {
		name   string
		do     func() *testResponse
		status int
		want   string
	}{
		{"demote", func() *testResponse {
			return admin.postForm("/admin/users/root", url.Values{"roles": {store.RoleAnalyst}, "confirm_remove": {"admin"}})
		}, http.StatusUnprocessableEntity, "You cannot take the admin role away from yourself."},
		{"disable", func() *testResponse { return admin.postForm("/admin/users/root/disable", nil) }, http.StatusConflict, msgSelfAccess},
		{"delete", func() *testResponse { return admin.postForm("/admin/users/root/delete", nil) }, http.StatusConflict, msgSelfAccess},
		{"delete page", func() *testResponse { return admin.get("/admin/users/root/delete") }, http.StatusConflict, msgSelfAccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			wantStatus(t, r, tt.status)
			if !strings.Contains(r.Body, tt.want) {
				t.Fatalf("no message %q:\n%s", tt.want, r.Body)
			}
			u := app.mustUserState("root")
			if u.Disabled() || !slices.Equal(u.Roles, []string{store.RoleAdmin}) {
				t.Fatalf("root changed: %+v", u)
			}
			wantStatus(t, admin.get("/"), http.StatusOK)
		})
	}
	page := admin.get("/admin/users/root")
	if !strings.Contains(page.Body, `data-testid="user-self-note"`) || strings.Contains(page.Body, `data-testid="user-disable"`) {
		t.Error("own page offers to disable the account")
	}

	// Adding a role to oneself keeps one's own session.
	r := admin.postForm("/admin/users/root", url.Values{"roles": {store.RoleAdmin, store.RoleAnalyst}})
	wantStatus(t, r, http.StatusSeeOther)
	wantStatus(t, admin.get("/admin/users"), http.StatusOK)
}

func TestAdminUserTokens(t *testing.T) {
	ctx := context.Background()
	app := newTestApp(t, withRoleProbes())
	admin := app.signedIn("root", store.RoleAdmin)
	app.user("dave", store.RoleReviewer)
	app.user("erin", store.RoleReviewer)
	keep := app.token("dave")
	if _, err := app.DB.CreateToken(ctx, "dave", "nightly export"); err != nil {
		t.Fatal(err)
	}
	erins := app.token("erin")
	tokens, err := app.DB.ListTokens(ctx, "dave")
	if err != nil || len(tokens) != 2 {
		t.Fatalf("tokens = %v, %v", tokens, err)
	}
	revoke := tokens[0] // newest: "nightly export"

	page := admin.get("/admin/users/dave")
	if !strings.Contains(page.Body, "nightly export") || strings.Count(page.Body, `data-testid="token-revoke-`) != 2 {
		t.Fatalf("the page does not list dave's two tokens:\n%s", page.Body)
	}
	if strings.Contains(page.Body, keep) {
		t.Fatal("the page shows a token")
	}

	erinTokens, _ := app.DB.ListTokens(ctx, "erin")
	wantStatus(t, admin.postForm("/admin/users/dave/tokens/"+itoa(erinTokens[0].ID)+"/revoke", nil), http.StatusNotFound)
	wantStatus(t, admin.postForm("/admin/users/dave/tokens/x/revoke", nil), http.StatusNotFound)
	wantStatus(t, app.bearer(erins, "/api/v1/probe/reviewer"), http.StatusOK)

	r := admin.postForm("/admin/users/dave/tokens/"+itoa(revoke.ID)+"/revoke", nil)
	wantStatus(t, r, http.StatusSeeOther)
	left, _ := app.DB.ListTokens(ctx, "dave")
	if len(left) != 1 || left[0].ID == revoke.ID {
		t.Fatalf("tokens after revoking = %+v", left)
	}
	wantStatus(t, app.bearer(keep, "/api/v1/probe/reviewer"), http.StatusOK)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
