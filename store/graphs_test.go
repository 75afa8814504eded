package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"trellis/designer"
)

func TestSlug(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"simple", "Refund approval", "refund-approval"},
		{"punctuation runs", "  Fan-out -- HTTP!! (v2) ", "fan-out-http-v2"},
		{"digits", "2024 Q3 report", "2024-q3-report"},
		{"non-latin only", "日本語", ""},
		{"punctuation only", "::", ""},
		{"accents folded", "Café crème", "cafe-creme"},
		{"combining accents", "Cafe\u0301 Straße Øl", "cafe-strasse-ol"},
		{"empty", "", ""},
		{"long", strings.Repeat("abcdefghij ", 10), "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcd"},
		{"no trailing dash after cut", strings.Repeat("a", 47) + " b", strings.Repeat("a", 47)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Slug(tt.in)
			if got != tt.want {
				t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > 48 || (got != "" && !ValidGraphID(got)) {
				t.Errorf("Slug(%q) = %q is not a valid id", tt.in, got)
			}
		})
	}
}

func TestCreateGraph(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	tests := []struct {
		name, graphName string
		draft           json.RawMessage
		wantID          string
		wantErr         error
	}{
		{"first", "Refund approval", nil, "refund-approval", nil},
		{"same slug", "Refund  Approval!", nil, "refund-approval-2", nil},
		{"third", "refund approval", json.RawMessage(`{"format":"trellis.graph/v1","name":"x","nodes":[],"edges":[]}`), "refund-approval-3", nil},
		{"prefix is its own slug", "Refund", nil, "refund", nil},
		{"empty name", "   ", nil, "", ErrInvalid},
		{"bad JSON", "Broken", json.RawMessage(`{"nodes":`), "", ErrInvalid},
		{"control char", "a\nb", nil, "", ErrInvalid},
		{"no letters for an id", "::", nil, "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := db.CreateGraph(ctx, tt.graphName, tt.draft, "alice")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateGraph = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if g.ID != tt.wantID || g.DraftRevision != 1 || g.LatestVersion != 0 || g.DraftUpdatedBy != "alice" {
				t.Errorf("graph = %+v, want id %s at revision 1", g, tt.wantID)
			}
			var doc designer.Graph
			if err := json.Unmarshal(g.Draft, &doc); err != nil {
				t.Fatalf("draft does not decode: %v", err)
			}
			if tt.draft == nil && (doc.Format != designer.Format || doc.Name != strings.TrimSpace(tt.graphName)) {
				t.Errorf("default draft = %s", g.Draft)
			}
		})
	}
	if _, err := db.GetGraph(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetGraph(unknown) = %v, want ErrNotFound", err)
	}
}

func TestCreateGraphWithID(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	tests := []struct {
		name, id, graphName string
		wantID              string
		wantErr             error
	}{
		{"given id for a name without letters", "colons", "::", "colons", nil},
		{"given id wins over the slug", "kyoto-review", "日本語", "kyoto-review", nil},
		{"empty id derives", "", "Café", "cafe", nil},
		{"taken id", "colons", "Other", "", ErrConflict},
		{"bad id", "Not An Id", "x", "", ErrInvalid},
		{"id with a slash", "a/b", "x", "", ErrInvalid},
		{"name still checked", "fine", " ", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := db.CreateGraphWithID(ctx, tt.id, tt.graphName, nil, "alice")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateGraphWithID = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && (g.ID != tt.wantID || g.Name != tt.graphName) {
				t.Errorf("graph = %s %q, want %s", g.ID, g.Name, tt.wantID)
			}
		})
	}
	if _, err := db.CreateGraph(ctx, "::", nil, "alice"); err == nil || !strings.Contains(err.Error(), "give an id") {
		t.Errorf("CreateGraph(::) = %v, want a request for an id", err)
	}
}

func TestSaveDraftConflicts(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	g, err := db.CreateGraph(ctx, "Flow", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		base    int64
		by      string
		wantRev int64
		wantErr error
	}{
		{"first tab saves", 1, "alice", 2, nil},
		{"second tab from revision 1 is stale", 1, "bob", 0, ErrConflict},
		{"second tab after reload", 2, "bob", 3, nil},
		{"base 0 does not check", 0, "alice", 4, nil},
		{"future revision is stale too", 9, "alice", 0, ErrConflict},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			draft := json.RawMessage(`{"step":` + string(rune('0'+i)) + `}`)
			rev, err := db.SaveDraft(ctx, g.ID, draft, "h"+string(rune('0'+i)), st.base, st.by)
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("SaveDraft = %v, want %v", err, st.wantErr)
			}
			if rev != st.wantRev {
				t.Errorf("revision = %d, want %d", rev, st.wantRev)
			}
		})
	}
	_, err = db.SaveDraft(ctx, g.ID, json.RawMessage(`{}`), "", 1, "carol")
	if err == nil || !strings.Contains(err.Error(), "saved by alice (revision 4)") {
		t.Errorf("conflict message = %v", err)
	}
	got, err := db.GetGraph(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Draft) != `{"step":3}` || got.DraftRevision != 4 || got.DraftHash != "h3" {
		t.Errorf("after the saves: draft %s revision %d hash %s", got.Draft, got.DraftRevision, got.DraftHash)
	}
	if _, err := db.SaveDraft(ctx, "nope", json.RawMessage(`{}`), "", 0, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SaveDraft(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := db.SaveDraft(ctx, g.ID, json.RawMessage(`{`), "", 0, "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveDraft(bad JSON) = %v, want ErrInvalid", err)
	}
}

func TestPublishVersions(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	db := MustOpenTestWith(t, Options{Now: clock.Now})
	g, err := db.CreateGraph(ctx, "Flow", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	def := func(n string) json.RawMessage {
		return json.RawMessage(`{"format":"trellis.graph/v1","name":"Flow","nodes":[{"id":"` + n + `","kind":"transform"}],"edges":[]}`)
	}
	steps := []struct {
		name        string
		hash        string
		wantVersion int
		wantErr     error
		wantMsg     string
	}{
		{"first", "ha", 1, nil, ""},
		{"same hash refused", "ha", 0, ErrConflict, "the draft is identical to version 1"},
		{"second", "hb", 2, nil, ""},
		{"back to first content is new", "ha", 3, nil, ""},
		{"no hash", "", 0, ErrInvalid, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Advance(time.Minute)
			v, err := db.PublishVersion(ctx, g.ID, def(st.hash), st.hash, "note "+st.name, "bob")
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("PublishVersion = %v, want %v", err, st.wantErr)
			}
			if st.wantMsg != "" && err.Error() != st.wantMsg {
				t.Errorf("message = %q, want %q", err, st.wantMsg)
			}
			if st.wantErr == nil && (v.Version != st.wantVersion || v.Author != "bob" || !v.CreatedAt.Equal(clock.Now())) {
				t.Errorf("version = %+v, want number %d by bob at %v", v, st.wantVersion, clock.Now())
			}
		})
	}
	if _, err := db.PublishVersion(ctx, "nope", def("x"), "hx", "", "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("PublishVersion(unknown graph) = %v, want ErrNotFound", err)
	}

	list, err := db.ListVersions(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Version != 3 || list[2].Version != 1 || list[0].Definition != nil {
		t.Errorf("ListVersions = %+v, want 3, 2, 1 without definitions", list)
	}
	v2, err := db.GetVersion(ctx, g.ID, 2)
	if err != nil || v2.Hash != "hb" || string(v2.Definition) != string(def("hb")) || v2.Note != "note second" {
		t.Errorf("GetVersion(2) = %+v, %v", v2, err)
	}
	if _, err := db.GetVersion(ctx, g.ID, 4); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetVersion(4) = %v, want ErrNotFound", err)
	}

	if err := db.RetireVersion(ctx, g.ID, 3); err != nil {
		t.Fatal(err)
	}
	if err := db.RetireVersion(ctx, g.ID, 3); err != nil {
		t.Errorf("retiring twice: %v", err)
	}
	if err := db.RetireVersion(ctx, g.ID, 7); !errors.Is(err, ErrNotFound) {
		t.Errorf("RetireVersion(7) = %v, want ErrNotFound", err)
	}
	latest, err := db.LatestVersion(ctx, g.ID)
	if err != nil || latest.Version != 3 || !latest.Retired || latest.Definition == nil {
		t.Errorf("LatestVersion = %+v, %v; want retired version 3 with its definition", latest, err)
	}
	got, _ := db.GetGraph(ctx, g.ID)
	if got.LatestVersion != 3 {
		t.Errorf("Graph.LatestVersion = %d, want 3", got.LatestVersion)
	}

	dg, err := db.VersionDefinition(ctx, g.ID, 2)
	if err != nil || dg.Format != designer.Format || len(dg.Nodes) != 1 || dg.Nodes[0].ID != "hb" {
		t.Errorf("VersionDefinition = %+v, %v", dg, err)
	}
	if _, err := db.VersionDefinition(ctx, g.ID, 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("VersionDefinition(9) = %v, want ErrNotFound", err)
	}

	other, _ := db.CreateGraph(ctx, "Empty", nil, "alice")
	if _, err := db.LatestVersion(ctx, other.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("LatestVersion(no versions) = %v, want ErrNotFound", err)
	}
	if vs, err := db.ListVersions(ctx, other.ID); err != nil || len(vs) != 0 {
		t.Errorf("ListVersions(no versions) = %v, %v", vs, err)
	}
	if _, err := db.ListVersions(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListVersions(unknown) = %v, want ErrNotFound", err)
	}
}

func TestVersionsAreImmutable(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	g, _ := db.CreateGraph(ctx, "Flow", nil, "alice")
	if _, err := db.PublishVersion(ctx, g.ID, json.RawMessage(`{"v":1}`), "h1", "", "alice"); err != nil {
		t.Fatal(err)
	}
	// Even raw SQL cannot change a published version; only retired may change.
	for _, stmt := range []string{
		`UPDATE graph_versions SET definition = '{"v":2}'`,
		`UPDATE graph_versions SET hash = 'h2'`,
		`UPDATE graph_versions SET note = 'rewritten'`,
		`UPDATE graph_versions SET version = 5`,
	} {
		if _, err := db.db.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("%s: err = %v, want the immutability trigger to refuse", stmt, err)
		}
	}
	v, err := db.GetVersion(ctx, g.ID, 1)
	if err != nil || string(v.Definition) != `{"v":1}` || v.Hash != "h1" {
		t.Errorf("version changed: %+v, %v", v, err)
	}
}

func TestListRenameDeleteGraphs(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	db := MustOpenTestWith(t, Options{Now: clock.Now})
	a, _ := db.CreateGraph(ctx, "Alpha", nil, "alice")
	clock.Advance(time.Minute)
	b, _ := db.CreateGraph(ctx, "Beta", nil, "alice")
	clock.Advance(time.Minute)
	if _, err := db.SaveDraft(ctx, a.ID, json.RawMessage(`{"a":1}`), "ha1", 0, "bob"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := db.PublishVersion(ctx, b.ID, json.RawMessage(`{"b":1}`), "hb1", "", "carol"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := db.SaveDraft(ctx, b.ID, json.RawMessage(`{"b":1}`), "hb1", 0, "carol"); err != nil {
		t.Fatal(err)
	}

	list, err := db.ListGraphs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []GraphSummary{
		{ID: "beta", Name: "Beta", LatestVersion: 1, UpdatedAt: clock.Now(), UpdatedBy: "carol", DraftChanged: false},
		{ID: "alpha", Name: "Alpha", LatestVersion: 0, UpdatedAt: clock.Now().Add(-2 * time.Minute), UpdatedBy: "bob", DraftChanged: true},
	}
	if len(list) != len(want) {
		t.Fatalf("ListGraphs = %+v", list)
	}
	for i := range want {
		if list[i] != want[i] {
			t.Errorf("ListGraphs[%d] = %+v, want %+v", i, list[i], want[i])
		}
	}

	clock.Advance(time.Minute)
	if _, err := db.SaveDraft(ctx, b.ID, json.RawMessage(`{"b":2}`), "hb2", 0, "carol"); err != nil {
		t.Fatal(err)
	}
	if list, _ := db.ListGraphs(ctx); !list[0].DraftChanged {
		t.Errorf("beta's draft changed after version 1 but DraftChanged is false")
	}

	// Created and published from one document, never saved: unchanged by bytes.
	doc := json.RawMessage(`{"format":"trellis.graph/v1","name":"Gamma","nodes":[],"edges":[]}`)
	clock.Advance(time.Minute)
	c, err := db.CreateGraph(ctx, "Gamma", doc, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PublishVersion(ctx, c.ID, doc, "hc1", "", "admin"); err != nil {
		t.Fatal(err)
	}
	if list, _ := db.ListGraphs(ctx); list[0].ID != "gamma" || list[0].DraftChanged {
		t.Errorf("gamma = %+v, want first and unchanged", list[0])
	}
	if err := db.DeleteGraph(ctx, c.ID); err != nil {
		t.Fatal(err)
	}

	if err := db.RenameGraph(ctx, a.ID, "Alpha prime", "dave"); err != nil {
		t.Fatal(err)
	}
	if g, _ := db.GetGraph(ctx, a.ID); g.Name != "Alpha prime" || g.ID != "alpha" {
		t.Errorf("after rename: %+v", g)
	}
	if err := db.RenameGraph(ctx, a.ID, "", "dave"); !errors.Is(err, ErrInvalid) {
		t.Errorf("RenameGraph(empty) = %v, want ErrInvalid", err)
	}
	if err := db.RenameGraph(ctx, "nope", "X", "dave"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RenameGraph(unknown) = %v, want ErrNotFound", err)
	}

	if err := db.DeleteGraph(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetVersion(ctx, b.ID, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("versions outlived their graph: %v", err)
	}
	if err := db.DeleteGraph(ctx, b.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteGraph = %v, want ErrNotFound", err)
	}
	// A deleted graph's id is free again.
	if g, err := db.CreateGraph(ctx, "Beta", nil, "alice"); err != nil || g.ID != "beta" {
		t.Errorf("recreate beta = %+v, %v", g, err)
	}
}
