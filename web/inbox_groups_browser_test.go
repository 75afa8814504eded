package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"trellis/store"
)

// TestBrowserInboxGroupByKeyboard: with the keyboard alone a reviewer reaches a map's group
// row, opens the group's list with Enter, ticks one item with Space and decides it; the
// other items stay, and the group row says so.
func TestBrowserInboxGroupByKeyboard(t *testing.T) {
	requireChromium(t)
	app, dec := newTaskApp(t, false)
	app.member("rita", "finance")
	var ids []string
	for i := range 6 {
		task, _, err := app.DB.CreateTask(context.Background(), store.NewTask{RunID: "run-k", NodeID: fmt.Sprintf("check.%d", i),
			GraphID: "refund", Version: 1, Title: fmt.Sprintf("Invoice %d", i), Assignee: "group:finance",
			Outcomes: []string{"approve", "reject"}, ItemTotal: 6})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	b := newBrowser(t, app)
	b.login("rita", testPassword)
	b.open("/inbox")
	group := "inbox-group-" + ids[5]
	b.waitVisible(group)
	if got := b.text(group); !strings.Contains(got, "6 items waiting") {
		t.Fatalf("group row says %q", got)
	}
	// Tab from the tick box of the group's row reaches its link.
	b.do("focus the group's tick box", chromedp.Focus(testID("inbox-tick-group-"+ids[5])))
	b.keys(kb.Tab)
	if got := evalJS[string](b, `document.activeElement?.dataset?.testid || ""`); got != group {
		t.Fatalf("Tab from the group's tick box reaches %q", got)
	}
	b.keys(kb.Enter)
	b.waitVisible("inbox-group-filter")
	b.do("focus item 3's tick box", chromedp.Focus(testID("inbox-tick-"+ids[2])))
	b.keys(" ")
	if !evalJS[bool](b, `document.querySelector('[data-testid="inbox-tick-`+ids[2]+`"]').checked`) {
		t.Fatal("Space did not tick the item")
	}
	b.do("focus decide", chromedp.Focus(testID("inbox-decide-submit")))
	b.keys(kb.Enter)
	b.waitVisible("inbox-bulk-result")
	if got := b.text("inbox-bulk-result"); !strings.Contains(got, "1 task decided.") {
		t.Fatalf("result = %q", got)
	}
	if d := dec.decisions(); len(d) != 1 || d[0].Outcome != "approve" {
		t.Fatalf("decisions = %+v", d)
	}
	b.open("/inbox")
	b.waitVisible(group)
	if got := b.text(group); !strings.Contains(got, "5 items waiting") {
		t.Fatalf("after deciding one, the group row says %q", got)
	}
}
