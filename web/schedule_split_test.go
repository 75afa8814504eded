package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"trellis/actions"
	"trellis/store"
)

// TestScheduleLatestFollowsSplit: a schedule on "latest" firing every second on the embedded
// server starts each run on the version the graph's 50/50 split gives that firing's run id,
// so its runs reach both versions, as runs started by hand do.
func TestScheduleLatestFollowsSplit(t *testing.T) {
	app, rc := newScheduleApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Split", splitDoc(1))
	ana.publish(id, "one")
	ana.saveDraft(id, splitDoc(2))
	ana.publish(id, "two")
	splits := []store.TrafficSplit{{Version: 1, Percent: 50}, {Version: 2, Percent: 50}}
	wantStatus(t, ana.send(http.MethodPut, "/graphs/"+id+"/traffic", map[string]any{"splits": splits}), http.StatusOK)

	r := ana.send(http.MethodPost, "/graphs/"+id+"/schedules", map[string]any{"every": "1s", "overlap": "allow_all", "input": map[string]any{}})
	wantStatus(t, r, http.StatusCreated)
	sid := r.JSON(t)["id"].(string)
	defer ana.send(http.MethodDelete, "/schedules/"+sid, nil)

	// Both versions come up within a few firings; 90 s is some 60 firings on a busy machine
	// (a miss by chance is 2^-59).
	seen, checked := map[int]int{}, map[string]bool{}
	deadline := time.Now().Add(90 * time.Second)
	for (seen[1] == 0 || seen[2] == 0) && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		st, err := rc.eng.DescribeSchedule(context.Background(), sid)
		if err != nil {
			continue
		}
		for _, f := range st.Recent {
			if f.RunID == "" || checked[f.RunID] {
				continue
			}
			run, err := rc.eng.GetRun(context.Background(), f.RunID)
			if err != nil || run.Version == 0 {
				continue // not started yet: the next poll looks again
			}
			checked[f.RunID] = true
			if want := actions.ChooseVersion(splits, f.RunID); run.Version != want {
				t.Fatalf("scheduled run %s is on v%d; the split gives its id v%d", f.RunID, run.Version, want)
			}
			seen[run.Version]++
		}
	}
	if seen[1] == 0 || seen[2] == 0 {
		t.Fatalf("scheduled runs by version: %v; want both versions", seen)
	}
}
