package web

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"trellis/store"
)

// TestUserEditBrowser walks a user's page in a real browser, by keyboard where it matters:
// groups saved with the roles kept, a role removal that asks first, disable, and delete
// through its confirmation page.
func TestUserEditBrowser(t *testing.T) {
	ctx := context.Background()
	app := newTestApp(t)
	app.user("ada", store.RoleAdmin)
	if _, err := app.DB.CreateUser(ctx, store.UserInput{Name: "dave", Password: testPassword,
		Roles: []string{store.RoleAnalyst, store.RoleReviewer}, Groups: []string{"legal"}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, app)
	b.login("ada", testPassword)

	b.open("/admin/users")
	b.waitVisible("user-table")
	b.screenshot("admin-users-list")
	b.click("user-edit-dave")
	b.waitVisible("user-edit-form")
	if got := b.text("user-edit-name"); got != "dave" {
		t.Fatalf("page of %q", got)
	}

	// Change the groups and submit with Enter: the roles stay.
	b.fill("user-edit-groups-input", "legal, finance")
	b.keys(kb.Enter)
	b.waitVisible("user-notice")
	u := app.mustUserState("dave")
	if !slices.Equal(u.Roles, []string{store.RoleAnalyst, store.RoleReviewer}) || !slices.Equal(u.Groups, []string{"finance", "legal"}) {
		t.Fatalf("after saving groups: %+v", u)
	}
	b.screenshot("admin-user-edit")

	// Untick reviewer with the keyboard and save: the page asks and saves nothing.
	b.do("focus reviewer", chromedp.Focus(testID("edit-role-reviewer")))
	b.keys(" ")
	b.do("focus save", chromedp.Focus(testID("user-edit-save")))
	b.keys(kb.Enter)
	b.waitVisible("user-confirm-roles")
	if got := b.text("user-confirm-roles"); !strings.Contains(got, "Remove the role reviewer from dave?") {
		t.Fatalf("question = %q", got)
	}
	if u := app.mustUserState("dave"); len(u.Roles) != 2 {
		t.Fatalf("asking changed roles: %v", u.Roles)
	}
	b.screenshot("admin-user-confirm-roles")
	b.click("user-edit-confirm")
	b.waitVisible("user-notice")
	if u := app.mustUserState("dave"); !slices.Equal(u.Roles, []string{store.RoleAnalyst}) || !slices.Equal(u.Groups, []string{"finance", "legal"}) {
		t.Fatalf("after confirming: %+v", u)
	}

	// Disable, accepting the data-confirm question.
	browserRun(b, "accept confirmations", chromedp.Evaluate[bool]("(window.confirm = function () { return true; }, true)"))
	b.click("user-disable")
	b.waitVisible("user-edit-disabled")
	if u := app.mustUserState("dave"); !u.Disabled() {
		t.Fatal("dave is not disabled")
	}

	// Delete through the confirmation page.
	b.click("user-delete")
	b.waitVisible("user-delete-confirm")
	b.click("user-delete-submit")
	b.waitVisible("user-deleted")
	if b.exists("user-row-dave") {
		t.Fatal("dave is still listed")
	}
	if _, err := app.DB.UserByName(ctx, "dave"); err == nil {
		t.Fatal("dave was not deleted")
	}
}
