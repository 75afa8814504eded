package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"trellis/store"
	"trellis/store/storetest"
)

// TestRemoteWorkerLeavesTasksToTheStore is serve's worker (both queues, the real store) and
// a second worker as on another machine (Remote, with a store of its own that it must never
// write) on one embedded server: every task of six approval runs lands in serve's store.
func TestRemoteWorkerLeavesTasksToTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db, other := storetest.MustOpen(t), storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	c2, err := client.Dial(cl.srv.ClientOptions(client.Options{Namespace: Namespace, Identity: "remote",
		Logger: NewSDKLogger(quietLogger())}))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	remote := NewWorker(c2, Deps{Remote: true, Tasks: storeTasks{other}, Logger: quietLogger()})
	if err := remote.Start(); err != nil {
		t.Fatal(err)
	}
	defer remote.Stop()

	var ids []string
	for range 6 {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: refundGraph(t, ""),
			Input: refundInput, StartedBy: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitTask(t, db, id, "is open in serve's store", isOpen)
		waitRun(t, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
		if _, err := other.GetTaskByNode(ctx, id, "review"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("run %s: the remote worker's store has its task (%v)", id, err)
		}
		if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 1},
			By: "bob", Groups: []string{"finance"}}); err != nil {
			t.Fatalf("decide %s: %v", id, err)
		}
	}
	for _, id := range ids {
		if run := waitRun(t, cl.eng, id, "ended", ended); run.Status != RunCompleted {
			t.Errorf("run %s = %s", id, toJSON(run))
		}
		waitTask(t, db, id, "is closed", func(t *store.Task) bool { return t.State == store.TaskDone })
	}
}

// TestApprovalHistoriesUseTheirQueue: the approval recorded before the store queue scheduled
// its task activities on the run's queue, and replays doing so; one recorded since carries
// the version marker and schedules them on the store queue.
func TestApprovalHistoriesUseTheirQueue(t *testing.T) {
	for _, tt := range []struct {
		name, queue string
		marker      bool
	}{
		{approvalHistory, DefaultTaskQueue, false},
		{approvalStoreHistory, StoreTaskQueue(DefaultTaskQueue), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(historyDir, tt.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var hist historypb.History
			if err := (temporalproto.CustomJSONUnmarshalOptions{}).Unmarshal(raw, &hist); err != nil {
				t.Fatal(err)
			}
			marker, tasks := false, 0
			for _, ev := range hist.Events {
				switch ev.GetEventType() {
				case enumspb.EVENT_TYPE_MARKER_RECORDED:
					for _, p := range ev.GetMarkerRecordedEventAttributes().GetDetails()["change-id"].GetPayloads() {
						marker = marker || strings.Contains(string(p.GetData()), storeQueueChange)
					}
				case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
					a := ev.GetActivityTaskScheduledEventAttributes()
					if storeActivities[a.GetActivityType().GetName()] {
						tasks++
						if q := a.GetTaskQueue().GetName(); q != tt.queue {
							t.Errorf("%s was scheduled on %q, want %q", a.GetActivityType().GetName(), q, tt.queue)
						}
					}
				}
			}
			if tasks < 3 || marker != tt.marker {
				t.Errorf("%d task activities, marker %v; want 3 or more and marker %v", tasks, marker, tt.marker)
			}
		})
	}
}
