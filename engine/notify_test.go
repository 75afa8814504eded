package engine

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

func TestNotifierHintsSubscribers(t *testing.T) {
	n := NewNotifier()
	one, stopOne := n.Subscribe("run-1")
	all, stopAll := n.Subscribe("")
	n.Notify("run-2")
	select {
	case <-one:
		t.Fatal("run-1's subscriber heard of run-2")
	default:
	}
	<-all // run-2 reaches the subscriber of every run
	// Hints coalesce: two before a read are one, and Notify never blocks.
	n.Notify("run-1")
	n.Notify("run-1")
	<-one
	select {
	case <-one:
		t.Fatal("two hints were not coalesced")
	default:
	}
	<-all
	stopOne()
	stopAll()
	n.Notify("run-1")
	select {
	case <-one:
		t.Fatal("a hint after unsubscribing")
	default:
	}
	var nilN *Notifier
	nilN.Notify("run-1") // a worker without a notifier
}

// TestWorkerNotifiesRunChanges: the worker hints while a run goes, from its activities
// and its workflow tasks, so the hints arrive before the run ends and once it has. The
// service holds its answer until the test has heard a hint, so a fast machine cannot
// finish the run (and coalesce every hint into one) before the test looks.
func TestWorkerNotifiesRunChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	n := NewNotifier()
	cl := startCluster(t, t.TempDir(), Deps{Notifier: n})
	release := make(chan struct{})
	svc := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok": true}`)
	}))
	defer svc.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	g := mustGraph(t, `{"nodes": [{"id": "call", "kind": "http", "config": {"url": "`+svc.URL+`"}},
		{"id": "after", "kind": "transform", "config": {"value": "'done'"}}], "edges": [{"from": "call", "to": "after"}]}`)
	// The run's id is known once started; hints for every run are the same here.
	hints, stop := n.Subscribe("")
	defer stop()
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "g", Version: 1, Definition: g})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(90 * time.Second)
	select {
	case <-hints: // the run started; its http call is held, so it cannot have ended
	case <-deadline:
		t.Fatal("no hint while the run was going")
	}
	if r, err := cl.eng.GetRun(context.Background(), id); err != nil || ended(r) {
		t.Fatalf("run = %+v, %v; want it going while the service holds its answer", r, err)
	}
	close(release)
	for done := false; !done; {
		select {
		case <-hints:
		case <-deadline:
			t.Fatal("the run had not ended")
		}
		r, err := cl.eng.GetRun(context.Background(), id)
		done = err == nil && ended(r)
	}
}
