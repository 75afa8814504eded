package web

import (
	"net/http"
	"net/url"
	"testing"

	"trellis/store"
)

// TestRunFormFollowsSplit: the start form offers "follow the traffic split" first and chosen,
// saying how the split sends runs; started so, the run goes where the split says (all to v1
// while v2 is the latest); naming a version still starts that one.
func TestRunFormFollowsSplit(t *testing.T) {
	starter := &recordingStarter{}
	app := newGraphApp(t, starter)
	api := app.api("api", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	api.publish(id, "")
	api.saveDraft(id, greetDocV2)
	api.publish(id, "")
	ana := app.signedIn("ana", store.RoleAnalyst)

	r := ana.get("/graphs/" + id + "/runs/new")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body, `<option value="split" selected>Follow the traffic split (none set: the latest version)</option>`,
		`<input type="hidden" name="version" value="split">`, "the traffic split picks")
	wantStatus(t, api.send(http.MethodPut, "/graphs/"+id+"/traffic", map[string]any{"splits": []map[string]any{{"version": 1, "percent": 100}}}), http.StatusOK)
	r = ana.get("/graphs/" + id + "/runs/new")
	wantContains(t, r.Body, "Follow the traffic split (v1 100 %)")
	r = ana.get("/graphs/" + id + "/runs/new?version=2")
	wantContains(t, r.Body, `<input type="hidden" name="version" value="2">`, "Start a run of version 2")

	for _, c := range []struct {
		version string
		want    int
	}{{"split", 1}, {"2", 2}} {
		n := len(starter.requests())
		r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {c.version}, "in.name": {"Ada"}, "in.times": {"1"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("start with version %s = %d %s", c.version, r.StatusCode, r.Body)
		}
		reqs := starter.requests()
		if len(reqs) != n+1 || reqs[n].Version != c.want {
			t.Errorf("start with version %s started %+v, want version %d", c.version, reqs[n:], c.want)
		}
	}
}
