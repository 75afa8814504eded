package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/store"
)

// TestGraphRenameDuplicateSameName: renaming a graph to a name another graph has says so
// (as creating one does); duplicating twice gives the second copy a name of its own.
func TestGraphRenameDuplicateSameName(t *testing.T) {
	app := newGraphApp(t, nil)
	ana := app.signedIn("ana", store.RoleAnalyst)
	for _, name := range []string{"Refunds", "Payouts"} {
		if _, err := app.DB.CreateGraph(context.Background(), name, nil, "ana"); err != nil {
			t.Fatal(err)
		}
	}

	// A name of its own is confirmed plainly.
	r := ana.postForm("/graphs/payouts/rename", url.Values{"name": {"Payouts EU"}})
	wantStatus(t, r, http.StatusSeeOther)
	body := ana.get(r.Header.Get("Location")).Body
	wantContains(t, body, "Renamed to Payouts EU.")
	if strings.Contains(body, "already named") {
		t.Error("a name of its own is warned about")
	}

	// Another graph's name (in other case) is warned about, naming the other graph.
	r = ana.postForm("/graphs/payouts/rename", url.Values{"name": {"refunds"}})
	wantStatus(t, r, http.StatusSeeOther)
	wantContains(t, ana.get(r.Header.Get("Location")).Body, "Renamed to refunds.", "Another graph is already named &#34;refunds&#34; (id refunds).")

	// Copies take names no graph has.
	for _, want := range []string{"Refunds (copy)", "Refunds (copy 2)"} {
		r = ana.postForm("/graphs/refunds/duplicate", nil)
		wantStatus(t, r, http.StatusSeeOther)
		if others := app.Server.graphsNamed(context.Background(), want, ""); len(others) != 1 {
			t.Errorf("graphs named %q: %v, want one", want, others)
		}
	}
}
