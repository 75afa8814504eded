package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/internal/testsvc"
	"trellis/store"
)

// triageGuesses are the fake model's answers per document: two sure, two unsure (under the
// sample's 0.8), which the sample's second map sends to a reviewer each.
var triageGuesses = map[string]string{
	"d1": `{"category": "invoice", "confidence": 0.95}`,
	"d2": `{"category": "contract", "confidence": 0.4}`,
	"d3": `{"category": "complaint", "confidence": 0.9}`,
	"d4": `{"category": "other", "confidence": 0.5}`,
}

// TestBrowserTriage (issue 13): the shipped document-triage sample, published as it is, runs
// against a local model server speaking the OpenAI protocol: its first map classifies four
// documents, the two the model is unsure of wait as one task each for the reviewers, and the
// run page in Chromium shows each map's per-item progress on its face while it waits; as a
// reviewer decides one, then the other (in a bulk decision), the open page counts them by
// itself and follows the run to its end, with both maps' items counted done.
func TestBrowserTriage(t *testing.T) {
	requireChromium(t)
	doc, err := os.ReadFile("../cmd/trellis/samples/document-triage.json")
	if err != nil {
		t.Fatal(err)
	}
	docID := regexp.MustCompile(`Document (d[0-9]+):`)
	chat := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := docID.FindStringSubmatch(string(b))
		if m == nil || triageGuesses[m[1]] == "" {
			http.Error(w, "no known document in the prompt", http.StatusBadRequest)
			return
		}
		content, _ := json.Marshal(triageGuesses[m[1]])
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": "c1", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 9, "completion_tokens": 7},
			"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": %s}}]}`, content)
	})

	// The engine's approvals use the app's store; the worker hints the live pages.
	tasks := &engineTasksForTest{}
	notifier := engine.NewNotifier()
	eng, _ := enginetest.Start(t, engine.Deps{Tasks: tasks, Providers: oneProvider{chat.URL}, Notifier: notifier})
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Tasks, s.Deps.Graphs, s.Deps.Runs = db, db, eng
		s.Deps.Notifier = notifier
		s.Config.Now = time.Now // run pages compare Temporal's times with the server's clock
	}))
	tasks.DB = app.DB

	ana := app.api("ada", store.RoleAnalyst)
	id := ana.createGraph("Document triage", string(doc))
	if v := ana.publish(id, "the sample"); v != 1 {
		t.Fatalf("published version %d", v)
	}
	var docs []map[string]any
	for _, d := range []string{"d1", "d2", "d3", "d4"} {
		docs = append(docs, map[string]any{"id": d, "text": "The text of " + d + "."})
	}
	r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{"documents": docs}})
	wantStatus(t, r, http.StatusCreated)
	runID := r.JSON(t)["run_id"].(string)

	// The unsure documents, d2 and d4, wait as the second map's items 0 and 1.
	var taskIDs []string
	deadline := time.Now().Add(90 * time.Second)
	for len(taskIDs) < 2 && time.Now().Before(deadline) {
		items, err := app.DB.ItemTasks(context.Background(), runID, "check", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		taskIDs = taskIDs[:0]
		for _, it := range items {
			taskIDs = append(taskIDs, it.ID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(taskIDs) != 2 {
		run, _ := eng.GetRun(context.Background(), runID)
		t.Fatalf("item tasks of check = %v, want two; run: %+v", taskIDs, run)
	}
	for i, want := range []string{"d2", "d4"} {
		task, err := app.DB.GetTask(context.Background(), taskIDs[i])
		if err != nil || !strings.Contains(task.Title, "document "+want) || task.Item == nil || task.Item.Total != 2 {
			t.Fatalf("task %d: %+v, %v; want the one of %s, item of 2", i, task, err, want)
		}
	}

	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.open("/runs/" + runID)
	b.do("wait for the waiting run", chromedp.WaitVisible(chromedp.CSS(`#run-live[data-status="waiting"]`)))
	// Each map says on its face how far its items are (and its tooltip says it in words).
	b.waitVisible("node-line-classify")
	b.waitJS("the classification's progress", `document.querySelector('[data-testid="node-line-classify"]').textContent === "4 of 4 done"`)
	b.waitJS("the reviews' progress", `document.querySelector('[data-testid="node-line-check"]').textContent === "0 of 2 done"`)
	if tip := evalJS[string](b, `document.querySelector('[data-testid="node-classify"] title').textContent`); !strings.Contains(tip, "4 of 4 items done") {
		t.Errorf("the classification's tooltip says %q", tip)
	}
	b.screenshot("run-triage-waiting")

	// A reviewer confirms the first: the open page counts it by itself.
	rev := app.memberAPI("rita", "reviewers")
	wantStatus(t, rev.send(http.MethodPost, "/tasks/"+taskIDs[0]+"/decision", map[string]any{"outcome": "confirm",
		"data": map[string]any{"category": "contract"}}), http.StatusOK)
	b.waitJS("one review counted", `document.querySelector('[data-testid="node-line-check"]').textContent === "1 of 2 done"`)
	if got := evalJS[string](b, `document.querySelector("#run-live").dataset.status`); got != "waiting" {
		t.Errorf("with one review left the run page says %q", got)
	}
	// The other in a bulk decision (ticking both: the first is refused, already decided);
	// the page follows the run to its end by itself.
	d := rev.send(http.MethodPost, "/tasks/decisions", map[string]any{"task_ids": taskIDs, "outcome": "confirm",
		"data": map[string]any{"category": "other"}})
	wantStatus(t, d, http.StatusOK)
	if want := fmt.Sprintf(`"decided":["%s"]`, taskIDs[1]); !strings.Contains(d.Body, want) || !strings.Contains(d.Body, `"code":"conflict"`) {
		t.Fatalf("decisions = %s, want %s and the first refused", d.Body, want)
	}
	b.do("wait for the completed run", chromedp.WaitVisible(chromedp.CSS(`#run-live[data-status="completed"]`)))
	b.waitJS("the reviews' progress", `document.querySelector('[data-testid="node-line-check"]')?.textContent === "2 of 2 done"`)
	b.waitJS("the classification's progress", `document.querySelector('[data-testid="node-line-classify"]')?.textContent === "4 of 4 done"`)
	b.screenshot("run-triage")

	run, err := eng.GetRun(context.Background(), runID)
	if err != nil || run.Status != engine.RunCompleted {
		t.Fatalf("run %s: %+v, %v", runID, run, err)
	}
	out, _ := run.Output.(map[string]any)
	if fmt.Sprint(out["reviewed"]) != "2" {
		t.Errorf("run output = %v, want two reviewed", run.Output)
	}
}
