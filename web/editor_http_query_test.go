package web

import (
	"net/http"
	"strings"
	"testing"

	"trellis/store"
)

// TestEditorNodeFormHTTPQuery: an http node's query shows as key/value rows, and a bad
// query template is reported on the field.
func TestEditorNodeFormHTTPQuery(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Query", "")
	r := nodeForm(t, c, id, rawNode(t, `{"id":"call","kind":"http","config":{"url":"https://x.test/s",
		"query":{"q":"{{ input.q }}","bad":"{{ input. }}"}}}`))
	wantStatus(t, r, http.StatusOK)
	for _, w := range []string{`data-path="config.query"`, `data-control="map"`, `data-part="key" value="q"`,
		`data-part="value" value="{{ input.q }}"`, "Query parameters"} {
		if !strings.Contains(r.Body, w) {
			t.Errorf("form lacks %s", w)
		}
	}
	// Like headers, a map shows the errors of its entries under the whole field.
	if got := formErrors(r.Body)["config.query"]; !strings.Contains(got, "Column 10") {
		t.Errorf("error of config.query = %q, want the column of the bad template (all: %v)", got, formErrors(r.Body))
	}
}
