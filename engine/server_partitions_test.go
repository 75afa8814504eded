package engine

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
)

const unpolledQueue = "probe-unpolled"

// testAckInterval is how often the first server of TestOldPartitionBacklogStillRead
// records how far its history queue has dispatched tasks (30 s by default).
const testAckInterval = time.Second

// partitionProbe schedules one activity on a queue no worker polls, so that its task waits
// in matching's backlog, in the partition it was written to.
func partitionProbe(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: unpolledQueue, StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, "Nobody").Get(ctx, nil)
}

// The embedded server writes every task of a queue to its one root partition: with
// Temporal's four, a task written where no poller waited reached a worker up to hundreds
// of ms later (make bench, interpreter_overhead). 24 tasks backlogged on a queue nobody
// polls must all be in the root; with four, the chance of that is 4^-24.
func TestTasksGoToOnePartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	dir := t.TempDir()
	cl := startCluster(t, dir, Deps{})
	defer cl.stop()
	w, names := backlogProbes(t, cl.c, filepath.Join(dir, "temporal.db"))
	defer w.Stop()
	for _, n := range names {
		if n != unpolledQueue {
			t.Errorf("a task is in partition %q, not in the root %q", n, unpolledQueue)
		}
	}
}

// probeTasks is how many tasks backlogProbes leaves waiting.
const probeTasks = 24

// backlogProbes starts probeTasks probe runs on c and a worker for their workflows (for the
// caller to stop), and waits until each run's activity task waits in matching's backlog in
// the temporal.db at dbPath. It answers the partition of each task.
func backlogProbes(t *testing.T, c client.Client, dbPath string) (worker.Worker, []string) {
	t.Helper()
	w := worker.New(c, "probe-workflows", worker.Options{})
	w.RegisterWorkflow(partitionProbe)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range probeTasks {
		if _, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: fmt.Sprintf("probe-%d", i), TaskQueue: "probe-workflows"}, partitionProbe); err != nil {
			w.Stop()
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		w.Stop()
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		names, err = backlogQueues(db)
		if err == nil && len(names) >= probeTasks || time.Now().After(deadline) {
			break
		}
	}
	if len(names) < probeTasks {
		w.Stop()
		t.Fatalf("%d of %d tasks in the backlog (%v)", len(names), probeTasks, err)
	}
	return w, names
}

// backlogQueues names the (partition of the) task queue of each task in matching's backlog
// for unpolledQueue. A row's queue id is the namespace id (16 bytes), the partition's name,
// then its type (one byte).
func backlogQueues(db *sql.DB) ([]string, error) {
	rows, err := db.Query("SELECT task_queue_id FROM tasks UNION ALL SELECT task_queue_id FROM tasks_v2")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if len(id) > 17 {
			if name := string(id[16 : len(id)-1]); strings.Contains(name, unpolledQueue) {
				out = append(out, name)
			}
		}
	}
	return out, rows.Err()
}

// A data dir whose older server left tasks in a partition other than the root keeps all
// four read, so that they are delivered; once none waits there, one is read. Made here by a
// server writing to four partitions: 24 tasks backlogged on a queue nobody polls land
// outside the root but for a chance of 4^-24, and every one must reach the worker started
// after the restart. Read from the root only, those would never come.
func TestOldPartitionBacklogStillRead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "temporal.db")
	srv, err := StartServer(ServerConfig{DataDir: dir, Token: testFrontendToken, Logger: quietLogger(), writePartitions: defaultPartitions,
		testConfig: dynamicconfig.StaticClient{dynamicconfig.TransferProcessorUpdateAckInterval.Key(): testAckInterval}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := partitionsToRead(dbPath); err != nil || n != 1 {
		t.Fatalf("a new data dir reads %d partitions (%v), want 1", n, err)
	}
	c, err := client.Dial(srv.ClientOptions(client.Options{Namespace: Namespace, Logger: NewSDKLogger(quietLogger())}))
	if err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	w, names := backlogProbes(t, c, dbPath)
	outside := 0
	for _, n := range names {
		if n != unpolledQueue {
			outside++
		}
	}
	if outside == 0 {
		t.Fatalf("all %d tasks in the root partition", len(names))
	}
	// History dispatches the tasks again at its next start unless its queue's checkpoint
	// has passed them: then they are matching's alone, as in a data dir left for days.
	time.Sleep(5 * testAckInterval)
	w.Stop()
	c.Close()
	srv.Stop()
	if n, err := partitionsToRead(dbPath); err != nil || n != defaultPartitions {
		t.Fatalf("with %d tasks outside the root, %d partitions are read (%v), want %d", outside, n, err, defaultPartitions)
	}

	cl := startCluster(t, dir, Deps{})
	aw := worker.New(cl.c, unpolledQueue, worker.Options{})
	aw.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: "Nobody"})
	if err := aw.Start(); err != nil {
		t.Fatal(err)
	}
	defer aw.Stop()
	pw := worker.New(cl.c, "probe-workflows", worker.Options{})
	pw.RegisterWorkflow(partitionProbe)
	if err := pw.Start(); err != nil {
		t.Fatal(err)
	}
	defer pw.Stop()
	for i := range probeTasks {
		wctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		err := cl.c.GetWorkflow(wctx, fmt.Sprintf("probe-%d", i), "").Get(wctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("probe-%d, its task written before the restart: %v", i, err)
		}
	}
}
