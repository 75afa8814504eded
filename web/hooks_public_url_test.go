package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"trellis/store"
)

// TestHookURLUsesPublicURL: issue 16 found hook URLs built from the request's host, which
// behind a proxy is not what senders reach; with --public-url they start with it, in the
// API's answers and on the Triggers tab.
func TestHookURLUsesPublicURL(t *testing.T) {
	db, err := store.OpenScratch(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const public = "https://trellis.example/wf"
	app := newTestApp(t, withSetup(func(s *appSetup) {
		s.Deps.Users, s.Deps.Graphs, s.Deps.Triggers = db, db, db
		s.Config.Now, s.Config.PublicURL = time.Now, public+"/"
	}))
	app.DB = db
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	r := ana.send(http.MethodPost, "/graphs/"+id+"/hooks", map[string]any{"name": "shop", "auth": "bearer"})
	wantStatus(t, r, http.StatusCreated)
	hook := r.JSON(t)
	want := public + "/hooks/" + hook["id"].(string)
	if hook["url"] != want {
		t.Fatalf("created hook url %v, want %s", hook["url"], want)
	}
	r = ana.send(http.MethodGet, "/graphs/"+id+"/hooks", nil)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `"url":"`+want+`"`) {
		t.Errorf("hook list lacks %s: %s", want, r.Body)
	}
	page := app.signedIn("ana", store.RoleAnalyst).get("/graphs/" + id + "/triggers")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, want) || strings.Contains(page.Body, app.URL+"/hooks/") {
		t.Errorf("triggers page does not show the hook at %s", want)
	}
}
