package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes fails when a JSON API route of the table is missing from the
// OpenAPI document, or the document names an operation that no route serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	app := newTestApp(t)
	var routes []string
	for _, r := range app.Server.routeTable() {
		if strings.HasPrefix(r.Path, "/api/v1/") {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	var documented []string
	for _, op := range apiOps {
		documented = append(documented, op.Method+" "+op.Path)
	}
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document (web/openapi.go apiOps)", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("the OpenAPI document names %s, which no route serves", d)
		}
	}
}

// TestOpenAPIServed checks the served document: signed-in only, OpenAPI 3.1, paths in
// OpenAPI syntax under the /api/v1 server, and every schema reference resolvable.
func TestOpenAPIServed(t *testing.T) {
	app := newTestApp(t)
	if res := app.client().get("/api/v1/openapi.json"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous: status %d, want 401", res.StatusCode)
	}
	res := app.signedIn("rita", "reviewer").get("/api/v1/openapi.json")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, res.Body)
	}
	doc := res.JSON(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	paths, _ := doc["paths"].(map[string]any)
	run, ok := paths["/runs/{id}"].(map[string]any)
	if !ok || run["get"] == nil {
		t.Fatalf("paths lack GET /runs/{id}: %v", keysOf(paths))
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, ref := range refsIn(doc) {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		if _, ok := schemas[name]; !ok {
			t.Errorf("reference %s has no schema", ref)
		}
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func refsIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				out = append(out, s)
			}
			out = append(out, refsIn(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, refsIn(e)...)
		}
	}
	return out
}
