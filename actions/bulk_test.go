package actions_test

import (
	"context"
	"errors"
	"testing"

	"trellis/actions"
	"trellis/engine"
	"trellis/store"
	"trellis/store/storetest"
)

// fakeBatches is a batch engine that matches a set number of runs and records batches; the
// engine itself is tested on the embedded server (web/bulk_api_test.go).
type fakeBatches struct {
	matching int
	started  []engine.BatchInput
}

func (f *fakeBatches) StartRun(context.Context, engine.StartRunRequest) (string, error) {
	return "", errors.New("no runs here")
}
func (f *fakeBatches) Timeline(context.Context, string) (*engine.Timeline, error) {
	return nil, engine.ErrRunNotFound
}
func (f *fakeBatches) Decide(context.Context, string, string, engine.Decision) error { return nil }
func (f *fakeBatches) CountMatching(context.Context, engine.BatchFilter) (int, error) {
	return f.matching, nil
}
func (f *fakeBatches) MatchingRunIDs(_ context.Context, _ engine.BatchFilter, limit int) ([]string, error) {
	ids := []string{}
	for i := 0; i < f.matching && i < limit; i++ {
		ids = append(ids, "run-x")
	}
	return ids, nil
}
func (f *fakeBatches) StartBatch(_ context.Context, in engine.BatchInput) (string, error) {
	f.started = append(f.started, in)
	return "batch-1", nil
}
func (f *fakeBatches) GetBatch(context.Context, string) (*engine.BatchProgress, error) {
	return nil, engine.ErrBatchNotFound
}
func (f *fakeBatches) CancelBatch(context.Context, string) error { return engine.ErrBatchNotFound }

// TestBulkRefusedWhole: a bulk action over too many runs, one the user's role does not allow,
// a migrate or rewind without its graph or version, or with both or neither of run_ids and filter is refused before
// any batch starts; duplicate run ids count once.
func TestBulkRefusedWhole(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	eng := &fakeBatches{matching: actions.DefaultMaxBulkRuns + 1}
	a := actions.New(db, db, eng, nil)
	dev := &store.User{Name: "dev", Roles: []string{store.RoleDeveloper}}
	ana := &store.User{Name: "ana", Roles: []string{store.RoleAnalyst}}
	filter := &actions.BulkFilter{Graph: "g"}

	for _, c := range []struct {
		req   actions.BulkRequest
		u     *store.User
		kind  actions.Kind
		field string
	}{
		{actions.BulkRequest{Action: "cancel", Filter: filter}, dev, actions.Invalid, "filter"},
		{actions.BulkRequest{Action: "cancel", Filter: filter}, ana, actions.Forbidden, ""},
		{actions.BulkRequest{Action: "rewind", RunIDs: []string{"run-a"}}, dev, actions.Invalid, "params.graph"},
		{actions.BulkRequest{Action: "migrate", Filter: filter}, dev, actions.Invalid, "params.to"},
		{actions.BulkRequest{Action: "migrate", Filter: filter, Params: actions.BulkParams{To: 7}}, dev, actions.Invalid, "params.to"},
		{actions.BulkRequest{Action: "migrate", Filter: filter, Params: actions.BulkParams{To: 7}}, ana, actions.Forbidden, ""},
		{actions.BulkRequest{Action: "explode", Filter: filter}, dev, actions.Invalid, "action"},
		{actions.BulkRequest{Action: "cancel"}, dev, actions.Invalid, "filter"},
		{actions.BulkRequest{Action: "cancel", Filter: filter, RunIDs: []string{"run-a"}}, dev, actions.Invalid, "filter"},
		{actions.BulkRequest{Action: "cancel", RunIDs: []string{"run-a", "x y"}}, dev, actions.Invalid, "run_ids[1]"},
		{actions.BulkRequest{Action: "cancel", RunIDs: []string{"a", "b", "c"}, Limit: 2}, dev, actions.Invalid, "run_ids"},
	} {
		_, err := a.Bulk(ctx, c.req, c.u)
		ae := refusal(t, err, c.kind)
		if c.field != "" && (len(ae.Graph) == 0 || ae.Graph[0].Field != c.field) {
			t.Errorf("%+v: problems %+v, want field %s", c.req, ae.Graph, c.field)
		}
	}
	if len(eng.started) != 0 {
		t.Fatalf("refused requests started %d batches", len(eng.started))
	}

	eng.matching = 3
	got, err := a.Bulk(ctx, actions.BulkRequest{Action: "cancel", Filter: filter, Params: actions.BulkParams{Comment: "old"}}, dev)
	if err != nil || got.Total != 3 || len(eng.started) != 1 || eng.started[0].By != "dev" || eng.started[0].Comment != "old" {
		t.Fatalf("Bulk = %+v, %v; started %+v", got, err, eng.started)
	}
	got, err = a.Bulk(ctx, actions.BulkRequest{Action: "pause", RunIDs: []string{"run-a", "run-b", "run-a"}}, dev)
	if err != nil || got.Total != 2 || len(eng.started[1].RunIDs) != 2 {
		t.Fatalf("Bulk with a duplicate id = %+v, %v", got, err)
	}
	refusal(t, errOf(a.Batch(ctx, "batch-nope")), actions.NotFound)
}
