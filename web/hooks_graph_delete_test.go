package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/store"
)

// TestDeleteGraphDeletesTriggers: issue 16 found a deleted graph's hooks still answering and
// its schedules still on Temporal. Deleting the graph deletes both, the Temporal schedule and
// the hook's secret included.
func TestDeleteGraphDeletesTriggers(t *testing.T) {
	app, rc := newScheduleApp(t)
	ctx := context.Background()
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	ana.publish(id, "v1")
	r := ana.send(http.MethodPost, "/graphs/"+id+"/hooks", map[string]any{"name": "shop", "auth": "hmac"})
	wantStatus(t, r, http.StatusCreated)
	hookID := r.JSON(t)["id"].(string)
	r = ana.send(http.MethodPost, "/graphs/"+id+"/schedules", map[string]any{"every": "1h", "paused": true, "input": map[string]any{"name": "A"}})
	wantStatus(t, r, http.StatusCreated)
	sid := r.JSON(t)["id"].(string)
	hook, err := app.DB.GetHook(ctx, hookID)
	if err != nil {
		t.Fatal(err)
	}

	wantStatus(t, app.signedIn("ana", store.RoleAnalyst).postForm("/graphs/"+id+"/delete", nil), http.StatusSeeOther)

	if _, err := app.DB.GetGraph(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("graph after delete: %v", err)
	}
	if _, err := app.DB.GetHook(ctx, hookID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hook after its graph's delete: %v, want not found", err)
	}
	if _, err := app.DB.Secret(ctx, hook.SecretName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hook secret %s after its graph's delete: %v, want not found", hook.SecretName, err)
	}
	if _, err := app.DB.GetScheduleRecord(ctx, sid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("schedule record after its graph's delete: %v, want not found", err)
	}
	if _, err := rc.eng.DescribeSchedule(ctx, sid); !errors.Is(err, engine.ErrScheduleNotFound) {
		t.Errorf("Temporal schedule after its graph's delete: %v, want not found", err)
	}
	body := []byte(`{"name": "Ada"}`)
	d := deliver(t, app, hookID, body, "X-Trellis-Signature", sign("any", body))
	if d.StatusCode != http.StatusNotFound || strings.Contains(d.Body, "run_id") {
		t.Errorf("delivery to a deleted graph's hook: %d %s", d.StatusCode, d.Body)
	}
}
