package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"trellis/designer"
)

// memSchedules resolves firings from graphs in memory; latest is the version 0 resolves to.
type memSchedules struct {
	mu     sync.Mutex
	latest int
	graphs memVersions
}

func (m *memSchedules) setLatest(v int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latest = v
}

func (m *memSchedules) ResolveScheduled(ctx context.Context, graphID string, version int, _ any, _ string) (int, *designer.Graph, error) {
	if version == 0 {
		m.mu.Lock()
		version = m.latest
		m.mu.Unlock()
	}
	g, err := m.graphs.VersionDefinition(ctx, graphID, version)
	if errors.Is(err, ErrVersionNotFound) {
		return 0, nil, fmt.Errorf("%w: %v", ErrScheduleRefused, err)
	}
	return version, g, err
}

// waitSchedule polls the schedule until ok says so.
func waitSchedule(tb testing.TB, eng *Engine, id, what string, ok func(*ScheduleState) bool) *ScheduleState {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last *ScheduleState
	for time.Now().Before(deadline) {
		st, err := eng.DescribeSchedule(context.Background(), id)
		if err == nil {
			last = st
			if ok(st) {
				return st
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("schedule %s: gave up waiting until %s; last %+v", id, what, last)
	return nil
}

const quickDoc = `{"nodes": [{"id": "hi", "kind": "transform", "config": {"value": "'hi ' + input.name"}}], "edges": []}`
const slowDoc = `{"nodes": [{"id": "nap", "kind": "wait", "config": {"duration": "1h"}}], "edges": []}`

func TestScheduleFiresPausesResumesAndSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	res := &memSchedules{latest: 1, graphs: memVersions{"g@1": mustGraph(t, quickDoc), "g@2": mustGraph(t, quickDoc)}}
	dir := t.TempDir()
	cl := startCluster(t, dir, Deps{Schedules: res})
	s := Schedule{ID: "sc-every2", GraphID: "g", Input: map[string]any{"name": "Ada"}, Every: 2 * time.Second, TimeZone: "Europe/Berlin", Overlap: OverlapSkip, By: "ana"}
	if err := cl.eng.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	st := waitSchedule(t, cl.eng, s.ID, "two firings", func(st *ScheduleState) bool { return len(st.Recent) >= 2 && len(st.Next) == 5 })
	for i := 1; i < len(st.Next); i++ {
		if d := st.Next[i].Sub(st.Next[i-1]); d != 2*time.Second {
			t.Fatalf("next firings %v apart, want 2s: %v", d, st.Next)
		}
	}
	run := waitRun(t, cl.eng, st.Recent[0].RunID, "it ends", ended)
	if run.Status != RunCompleted || run.StartedBy != "schedule:"+s.ID || run.Version != 1 || run.Nodes["hi"].Output != "hi Ada" {
		t.Fatalf("scheduled run: %s", toJSON(run))
	}

	// "latest" is resolved at each firing.
	res.setLatest(2)
	waitSchedule(t, cl.eng, s.ID, "a run of version 2", func(st *ScheduleState) bool {
		r, err := cl.eng.GetRun(ctx, st.Recent[len(st.Recent)-1].RunID)
		return err == nil && r.Version == 2
	})

	// Paused, it starts nothing for three intervals; resumed, it fires again.
	if err := cl.eng.PauseSchedule(ctx, s.ID, true, "ana"); err != nil {
		t.Fatal(err)
	}
	st = waitSchedule(t, cl.eng, s.ID, "paused", func(st *ScheduleState) bool { return st.Paused })
	pausedAt := st.Actions
	time.Sleep(6 * time.Second)
	if st = waitSchedule(t, cl.eng, s.ID, "read", func(*ScheduleState) bool { return true }); st.Actions != pausedAt {
		t.Fatalf("paused schedule fired: %d actions, had %d", st.Actions, pausedAt)
	}

	// The schedule is Temporal's: it is there after a restart of the server, and resumes.
	cl.stop()
	cl = startCluster(t, dir, Deps{Schedules: res})
	if err := cl.eng.PauseSchedule(ctx, s.ID, false, "ana"); err != nil {
		t.Fatal(err)
	}
	waitSchedule(t, cl.eng, s.ID, "firing after resume", func(st *ScheduleState) bool { return !st.Paused && st.Actions >= pausedAt+1 })

	if err := cl.eng.DeleteSchedule(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.eng.DescribeSchedule(ctx, s.ID); !errors.Is(err, ErrScheduleNotFound) {
		t.Fatalf("deleted schedule: %v, want ErrScheduleNotFound", err)
	}
}

func TestScheduleSkipNeverOverlaps(t *testing.T) {
	ctx := context.Background()
	res := &memSchedules{latest: 1, graphs: memVersions{"slow@1": mustGraph(t, slowDoc)}}
	cl := startCluster(t, t.TempDir(), Deps{Schedules: res})
	s := Schedule{ID: "sc-skip", GraphID: "slow", Every: time.Second, Overlap: OverlapSkip, By: "ana"}
	if err := cl.eng.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	st := waitSchedule(t, cl.eng, s.ID, "two firings skipped", func(st *ScheduleState) bool { return st.Skipped >= 2 })
	if st.Actions != 1 || len(st.Running) != 1 {
		t.Fatalf("skip overlapped: %d actions, running %v", st.Actions, st.Running)
	}
	slow := st.Running[0]
	if r := waitRun(t, cl.eng, slow, "waiting", func(r *Run) bool { return r.Status == RunRunning }); r.StartedBy != "schedule:sc-skip" {
		t.Fatalf("slow run started by %q", r.StartedBy)
	}
	// When the slow run ends, the next firing starts another.
	if err := cl.eng.CancelRun(ctx, slow, "test"); err != nil {
		t.Fatal(err)
	}
	waitSchedule(t, cl.eng, s.ID, "a second run", func(st *ScheduleState) bool { return st.Actions >= 2 && len(st.Running) == 1 && st.Running[0] != slow })
	if err := cl.eng.DeleteSchedule(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
}

func TestScheduleRefusedFiringStartsNoRun(t *testing.T) {
	ctx := context.Background()
	res := &memSchedules{latest: 9, graphs: memVersions{}}
	cl := startCluster(t, t.TempDir(), Deps{Schedules: res})
	s := Schedule{ID: "sc-none", GraphID: "gone", Every: time.Hour, Overlap: OverlapSkip, By: "ana"}
	if err := cl.eng.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := cl.eng.TriggerSchedule(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	st := waitSchedule(t, cl.eng, s.ID, "the firing ends", func(st *ScheduleState) bool { return st.Actions == 1 && len(st.Running) == 0 })
	if _, err := cl.eng.GetRun(ctx, st.Recent[0].RunID); !errors.Is(err, ErrRunNotFound) {
		t.Fatalf("a refused firing started run %s: %v", st.Recent[0].RunID, err)
	}
}

func TestParseCron(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		col      int
	}{
		{in: "0 9 * * MON-FRI", want: "0 9 * * MON-FRI"},
		{in: "*/10 * * * * *", want: "*/10 * * * * * *"},
		{in: "0  0 1,15 jan-jun ?", want: "0 0 1,15 jan-jun ?"},
		{in: "0 24 * * *", col: 3},
		{in: "0 9 * * MON-FRI 2027", col: 9},
		{in: "61 * * * * *", col: 1},
		{in: "* * * * * * *", col: 13},
		{in: "0 9 * FOO *", col: 7},
		{in: "0 9 5-1 * *", col: 5},
		{in: "*/0 * * * *", col: 1},
		{in: "0 9 * *", col: 8},
	} {
		got, err := ParseCron(tc.in)
		var ce *CronError
		switch {
		case tc.col == 0 && (err != nil || got != tc.want):
			t.Errorf("ParseCron(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.col != 0 && (!errors.As(err, &ce) || ce.Column != tc.col):
			t.Errorf("ParseCron(%q): error %v; want one at column %d", tc.in, err, tc.col)
		}
	}
}
