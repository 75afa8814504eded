package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"trellis/engine"
	"trellis/internal/hookauth"
	"trellis/store"
)

// hookApp is a server on the real engine whose store (all of it: users, graphs, hooks) is
// the one at dir, so that a test can open it again.
func hookApp(t testing.TB, dir string, rc *runCluster) (*testApp, *store.DB) {
	t.Helper()
	db, err := store.OpenScratch(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t, withSetup(func(s *appSetup) {
		s.Deps.Users, s.Deps.Graphs, s.Deps.Triggers, s.Deps.Runs = db, db, db, rc.eng
		s.Config.Now = time.Now
	}))
	app.DB = db
	return app, db
}

// deliver posts body to /hooks/{id} with headers (name, value, …).
func deliver(t *testing.T, app *testApp, id string, body []byte, headers ...string) *testResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, app.URL+"/hooks/"+id, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return app.client().do(req)
}

func sign(secret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(hookauth.Signature(secret, body))
}

func TestHookDeliveriesStartRuns(t *testing.T) {
	_, rc := newRunApp(t)
	dir := t.TempDir()
	app, db := hookApp(t, dir, rc)
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	ana.publish(id, "v1")

	r := ana.send(http.MethodPost, "/graphs/"+id+"/hooks", map[string]any{"name": "shop", "auth": "hmac"})
	wantStatus(t, r, http.StatusCreated)
	hook := r.JSON(t)
	hookID, secret := hook["id"].(string), hook["secret"].(string)
	if !strings.HasSuffix(hook["url"].(string), "/hooks/"+hookID) || len(secret) != 64 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created hook: %v", hook)
	}
	body := []byte(`{"name": "Ada"}`)

	t.Run("bad signature is 401 and says nothing of the right one", func(t *testing.T) {
		for name, hdr := range map[string][]string{
			"none":      nil,
			"wrong":     {"X-Trellis-Signature", sign("not the secret", body)},
			"not hex":   {"X-Trellis-Signature", "sha256=zz"},
			"as bearer": {"Authorization", "Bearer " + secret},
		} {
			r := deliver(t, app, hookID, body, hdr...)
			wantStatus(t, r, http.StatusUnauthorized)
			if strings.Contains(r.Body, hex.EncodeToString(hookauth.Signature(secret, body))) || strings.Contains(r.Body, "run_id") {
				t.Errorf("%s: answer tells too much: %s", name, r.Body)
			}
		}
	})
	t.Run("input that does not fit is 422 with the path", func(t *testing.T) {
		bad := []byte(`{"name": 7}`)
		r := deliver(t, app, hookID, bad, "X-Trellis-Signature", sign(secret, bad))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if ps := problemsOf(t, r); len(ps) == 0 || ps[0]["path"] != "/name" {
			t.Fatalf("problems: %v", ps)
		}
		r = deliver(t, app, hookID, []byte(`{"name":`), "X-Trellis-Signature", sign(secret, []byte(`{"name":`)))
		wantStatus(t, r, http.StatusBadRequest)
	})
	t.Run("over the body limit is 413", func(t *testing.T) {
		big := []byte(`{"name": "` + strings.Repeat("a", hookBodyLimit) + `"}`)
		r := deliver(t, app, hookID, big, "X-Trellis-Signature", sign(secret, big))
		wantStatus(t, r, http.StatusRequestEntityTooLarge)
	})

	r = deliver(t, app, hookID, body, "X-Trellis-Signature", sign(secret, body), "Idempotency-Key", "order-1")
	wantStatus(t, r, http.StatusAccepted)
	runID := r.JSON(t)["run_id"].(string)
	run := rc.waitRun(t, runID, "it ends", runEnded)
	if run.Status != engine.RunCompleted || run.StartedBy != "hook:"+hookID {
		t.Fatalf("run: status %s, started by %q", run.Status, run.StartedBy)
	}
	r = deliver(t, app, hookID, body, "X-Trellis-Signature", sign(secret, body), "Idempotency-Key", "order-1")
	wantStatus(t, r, http.StatusAccepted)
	if again := r.JSON(t)["run_id"]; again != runID {
		t.Fatalf("same key: run %v, want %s", again, runID)
	}

	// The key holds after the store is closed and opened again (a restart of serve).
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	app2, _ := hookApp(t, dir, rc)
	r = deliver(t, app2, hookID, body, "X-Trellis-Signature", sign(secret, body), "Idempotency-Key", "order-1")
	wantStatus(t, r, http.StatusAccepted)
	if again := r.JSON(t)["run_id"]; again != runID {
		t.Fatalf("same key after reopening: run %v, want %s", again, runID)
	}

	// A bearer hook; a rotated secret replaces the old one at once.
	ana2 := app2.api("ana2", store.RoleAnalyst)
	r = ana2.send(http.MethodPost, "/graphs/"+id+"/hooks", map[string]any{"name": "chat", "auth": "bearer", "version": 1})
	wantStatus(t, r, http.StatusCreated)
	bearerID, bearer := r.JSON(t)["id"].(string), r.JSON(t)["secret"].(string)
	wantStatus(t, deliver(t, app2, bearerID, body, "Authorization", "Bearer wrong"), http.StatusUnauthorized)
	r = ana2.send(http.MethodPost, "/graphs/"+id+"/hooks/"+bearerID+"/rotate", nil)
	wantStatus(t, r, http.StatusOK)
	rotated := r.JSON(t)["secret"].(string)
	wantStatus(t, deliver(t, app2, bearerID, body, "Authorization", "Bearer "+bearer), http.StatusUnauthorized)
	r = deliver(t, app2, bearerID, body, "Authorization", "Bearer "+rotated)
	wantStatus(t, r, http.StatusAccepted)
	second := r.JSON(t)["run_id"].(string)

	// Two runs in all: the refused deliveries started none, the repeated key no other.
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := rc.eng.CountRuns(context.Background(), id)
		if err == nil && n == 2 {
			break
		}
		if time.Now().After(deadline) || n > 2 {
			t.Fatalf("runs of %s: %d (%v), want 2 (%s and %s)", id, n, err, runID, second)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A disabled hook is 404; the list shows the deliveries.
	r = ana2.send(http.MethodPatch, "/graphs/"+id+"/hooks/"+hookID, map[string]any{"enabled": false})
	wantStatus(t, r, http.StatusNoContent)
	wantStatus(t, deliver(t, app2, hookID, body, "X-Trellis-Signature", sign(secret, body)), http.StatusNotFound)
	r = ana2.get("/graphs/" + id + "/hooks")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, runID) || !strings.Contains(r.Body, `"status":401`) || strings.Contains(r.Body, secret) {
		t.Fatalf("hook list: %s", r.Body)
	}
}

func TestHookLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newHookLimiter()
	l.now = func() time.Time { return now }
	for i := range hookBurst {
		if !l.allow("a") {
			t.Fatalf("delivery %d refused within the burst", i)
		}
	}
	if l.allow("a") {
		t.Fatal("a delivery past the burst passed")
	}
	if !l.allow("b") {
		t.Fatal("another hook was limited")
	}
	now = now.Add(time.Second)
	for i := range hookRate {
		if !l.allow("a") {
			t.Fatalf("delivery %d refused after a second", i)
		}
	}
	if l.allow("a") {
		t.Fatal("more than the rate passed")
	}
}
