package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/store"
)

// TestTriggersBrowser adds a schedule and a webhook on a graph's Triggers tab in a real
// browser: the schedule shows its next five firing times, the hook its secret once.
func TestTriggersBrowser(t *testing.T) {
	app, _ := newScheduleApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	ana.publish(id, "v1")

	b := newBrowser(t, app)
	b.login("ana", testPassword)
	b.open("/graphs/" + id)
	b.click("tab-triggers")
	b.waitVisible("schedules-empty")

	b.fill("schedule-cron-input", "0 30 9 * * MON-FRI")
	b.fill("schedule-timezone-input", "Europe/Berlin")
	b.do("type the input", chromedp.SendKeys(testID("schedule-input-input"), `{"name": "Ada"}`))
	b.click("schedule-create")
	b.waitVisible("triggers-notice")
	b.waitVisible("schedule-table")
	n := browserRun(b, "count next firings", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid^="schedule-next-"] li').length`))
	if n != 5 {
		t.Fatalf("next firing times shown: %d, want 5", n)
	}
	first := browserRun(b, "first firing", chromedp.Evaluate[string](`document.querySelector('[data-testid^="schedule-next-"] time').getAttribute('datetime')`))
	if first == "" {
		t.Fatal("the next firing has no time")
	}

	// A bad cron expression is refused beside its field, with the column.
	b.fill("schedule-cron-input", "0 9 * * FUNDAY")
	b.click("schedule-create")
	b.waitVisible("schedule-cron-error")
	b.allowConsoleErrors("422") // the page answered the form 422, as it should
	if got := b.text("schedule-cron-error"); !containsAll(got, "column 9", "day of week") {
		t.Fatalf("cron error: %q", got)
	}

	b.fill("hook-name-input", "shop")
	b.click("hook-create")
	b.waitVisible("hook-secret-value")
	if secret := b.text("hook-secret-value"); len(secret) != 64 {
		t.Fatalf("hook secret shown: %q", secret)
	}
	hooks, err := app.DB.ListHooks(b.ctx, id)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("hooks: %v, %v", hooks, err)
	}
	b.waitVisible("hook-" + hooks[0].ID)
	b.screenshot("triggers")
	b.open(fmt.Sprintf("/graphs/%s/triggers", id))
	if b.exists("hook-secret-value") {
		t.Fatal("the secret is shown again")
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
