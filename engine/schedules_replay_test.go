package engine

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"trellis/internal/testsvc"
)

// triggerHistoryDir holds the recorded histories of the schedule and notification workflows,
// apart from the interpreter's (whose replay test registers the interpreter alone).
const triggerHistoryDir = "testdata/triggers"

// memNotifications is a NotificationStore with one webhook notice per event.
type memNotifications struct{ url string }

func (m memNotifications) PlanNotices(_ context.Context, ev TaskEvent) ([]Notice, error) {
	return []Notice{{Key: "hook/" + ev.Event + "/" + ev.TaskID, Channel: "webhook", Event: ev.Event, TaskID: ev.TaskID, Title: "Refund"}}, nil
}
func (m memNotifications) NotifySettings(context.Context) (*NotifySettings, error) {
	return &NotifySettings{WebhookURL: m.url, BaseURL: "http://trellis.test"}, nil
}
func (memNotifications) MarkNotices(context.Context, []string, string, int, string) error { return nil }
func (memNotifications) TaskOverdue(context.Context, string, time.Time) (bool, error) {
	return true, nil
}
func (memNotifications) DigestNotices(context.Context) ([]Digest, error) { return nil, nil }

// TestRecordTriggerHistories records a scheduled firing and a notification with its overdue
// follow-up (go test ./engine/ -run TestRecordTriggerHistories -update).
func TestRecordTriggerHistories(t *testing.T) {
	if !*update {
		t.Skip("run with -update to record histories")
	}
	ctx := context.Background()
	receiver := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(receiver.Close)
	res := &memSchedules{latest: 1, graphs: memVersions{"g@1": mustGraph(t, quickDoc)}}
	cl := startCluster(t, t.TempDir(), Deps{Schedules: res, Notifications: memNotifications{url: receiver.URL}})
	if err := os.MkdirAll(triggerHistoryDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := Schedule{ID: "sc-record", GraphID: "g", Input: map[string]any{"name": "Ada"}, Every: time.Hour, Overlap: OverlapSkip, By: "recorder"}
	if err := cl.eng.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := cl.eng.TriggerSchedule(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	st := waitSchedule(t, cl.eng, s.ID, "the firing ends", func(st *ScheduleState) bool { return st.Actions == 1 && len(st.Running) == 0 })
	d, err := cl.c.ScheduleClient().GetHandle(ctx, s.ID).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, st.Recent[0].RunID, "ended", ended)
	writeTriggerHistory(t, cl.c, d.Info.RecentActions[0].StartWorkflowResult.WorkflowID, "scheduled")

	due := time.Now().Add(2 * time.Second)
	run, err := cl.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "notify-record", TaskQueue: DefaultTaskQueue}, NotifyWorkflowName,
		TaskEvent{Event: "created", TaskID: "7", DueAt: &due, Assignee: "user:ann"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	writeTriggerHistory(t, cl.c, "notify-record", "notify")
}

func writeTriggerHistory(t *testing.T, c client.Client, id, name string) {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, "", false, 0)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(triggerHistoryDir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The workflow id goes beside the history: the scheduled workflow derives its run's id from it.
	if err := os.WriteFile(filepath.Join(triggerHistoryDir, name+".id"), []byte(id), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d events", name, len(hist.Events))
}

// TestReplayTriggerHistories replays the recorded schedule and notification histories against
// the current workflows; a change that would break firings or notifications in flight fails.
func TestReplayTriggerHistories(t *testing.T) {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(Scheduled, workflow.RegisterOptions{Name: ScheduledWorkflowName})
	registerNotifyWorkflows(replayer)
	for _, name := range []string{"scheduled", "notify"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(triggerHistoryDir, name+".json"))
			if err != nil {
				t.Fatalf("history %s is missing; record with -update: %v", name, err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id, err := os.ReadFile(filepath.Join(triggerHistoryDir, name+".id"))
			if err != nil {
				t.Fatal(err)
			}
			err = replayer.ReplayWorkflowHistoryWithOptions(NewSDKLogger(quietLogger()), hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: string(id), RunID: "replay"}})
			if err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}
