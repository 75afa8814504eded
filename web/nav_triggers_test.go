package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/store"
)

// TestNavLinksToTriggersAndNotifications: issue 16 left the Triggers tab and the admins'
// Notifications page reachable only by typing their address. The graph list's row menu links
// to a graph's triggers for those who may manage them, and the admin navigation has
// Notifications, marked current on its pages.
func TestNavLinksToTriggersAndNotifications(t *testing.T) {
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Graphs, s.Deps.Triggers, s.Deps.Notifications = db, db, testNotify{db}
	}))
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	link := fmt.Sprintf(`href="/graphs/%s/triggers" data-testid="graph-triggers-%s"`, id, id)

	r := app.signedIn("ana", store.RoleAnalyst).get("/graphs")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, link)
	r = app.signedIn("dev", store.RoleDeveloper).get("/graphs")
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.Body, "graph-triggers-") {
		t.Errorf("a developer, who may not manage triggers, is offered the link")
	}

	// Everyone's own notification settings are a link away, from the name in the header.
	r = app.signedIn("rev", store.RoleReviewer).get("/inbox")
	wantBody(t, r, `href="/settings/notifications" data-testid="user-settings-link"`, "your notification settings")

	admin := app.signedIn("ada", store.RoleAdmin)
	r = admin.get("/admin/users")
	wantBody(t, r, `href="/admin/notifications" data-testid="admin-nav-notifications"`)
	for _, page := range []string{"/admin/notifications", "/admin/notifications/deliveries"} {
		r = admin.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `data-testid="admin-nav-notifications" aria-current="page"`, `data-testid="nav-admin" aria-current="page"`)
	}
}

// TestBrowserTriggersLinkByKeyboard: the row menu's Triggers link is reached and followed
// with the keyboard alone.
func TestBrowserTriggersLinkByKeyboard(t *testing.T) {
	requireChromium(t)
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Graphs, s.Deps.Triggers = db, db
	}))
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	b := newBrowser(t, app)
	b.login("ana", testPassword)
	b.open("/graphs")
	b.waitVisible("graph-more-" + id)
	b.do("focus the menu", chromedp.Focus(testID("graph-more-"+id)))
	b.keys("\r")
	b.waitVisible("graph-triggers-" + id)
	for i := 0; i < 10 && b.activeTestID() != "graph-triggers-"+id; i++ {
		b.keys("\t")
	}
	if got := b.activeTestID(); got != "graph-triggers-"+id {
		t.Fatalf("Tab from the menu button never reached the Triggers link (focus on %q)", got)
	}
	b.keys("\r")
	b.waitVisible("tab-triggers")
	if got := b.path(); got != "/graphs/"+id+"/triggers" {
		t.Fatalf("Enter on the Triggers link opened %s", got)
	}
}
