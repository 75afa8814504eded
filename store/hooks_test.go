package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHookKeysSurviveReopenAndExpire(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := OpenScratch(dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateGraph(ctx, "Orders", nil, "ann"); err != nil {
		t.Fatal(err)
	}
	h, err := db.CreateHook(ctx, Hook{GraphID: "orders", Name: "shop", Auth: HookAuthHMAC, CreatedBy: "ann"}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := db.ClaimHookKey(ctx, h.ID, "k1"); err != nil || !claimed {
		t.Fatalf("first claim: claimed %v, %v", claimed, err)
	}
	if run, claimed, err := db.ClaimHookKey(ctx, h.ID, "k1"); err != nil || claimed || run != "" {
		t.Fatalf("claim while starting: run %q claimed %v, %v; want \"\", false", run, claimed, err)
	}
	if err := db.SetHookKeyRun(ctx, h.ID, "k1", "run-1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenScratch(dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if run, claimed, err := db.ClaimHookKey(ctx, h.ID, "k1"); err != nil || claimed || run != "run-1" {
		t.Fatalf("claim after reopen: run %q claimed %v, %v; want run-1", run, claimed, err)
	}
	if secret, err := db.HookSecret(ctx, h); err != nil || secret != "s3cret" {
		t.Fatalf("secret after reopen: %q, %v", secret, err)
	}
	now = now.Add(HookKeyTTL + time.Minute)
	if _, claimed, err := db.ClaimHookKey(ctx, h.ID, "k1"); err != nil || !claimed {
		t.Fatalf("claim after a day: claimed %v, %v; want a new claim", claimed, err)
	}
	if err := db.SetHookKeyRun(ctx, h.ID, "k1", ""); err != nil {
		t.Fatal(err)
	}
	if _, claimed, _ := db.ClaimHookKey(ctx, h.ID, "k1"); !claimed {
		t.Fatal("a released key cannot be claimed again")
	}
}

func TestHookValidationAndDeliveries(t *testing.T) {
	ctx := context.Background()
	db := MustOpenTest(t)
	if _, err := db.CreateGraph(ctx, "Orders", nil, "ann"); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]Hook{
		"no name":   {GraphID: "orders", Auth: HookAuthHMAC},
		"bad auth":  {GraphID: "orders", Name: "x", Auth: "basic"},
		"bad graph": {GraphID: "Nope!", Name: "x", Auth: HookAuthHMAC},
	} {
		if _, err := db.CreateHook(ctx, h, "s"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if _, err := db.CreateHook(ctx, Hook{GraphID: "missing", Name: "x", Auth: HookAuthHMAC}, "s"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown graph: err %v, want ErrNotFound", err)
	}
	h, err := db.CreateHook(ctx, Hook{GraphID: "orders", Name: "shop", Auth: HookAuthBearer}, "s")
	if err != nil {
		t.Fatal(err)
	}
	for i := range hookDeliveriesKept + 5 {
		if err := db.RecordHookDelivery(ctx, h.ID, HookDelivery{At: time.Unix(int64(i), 0), Status: 202, RunID: "run"}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := db.ListHookDeliveries(ctx, h.ID, 100)
	if err != nil || len(ds) != hookDeliveriesKept || ds[0].At.Unix() != hookDeliveriesKept+4 {
		t.Fatalf("deliveries: %d, newest %v, %v", len(ds), ds[0].At, err)
	}
	if err := db.SetHookEnabled(ctx, h.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetHook(ctx, h.ID); got.Enabled() {
		t.Fatal("hook still enabled")
	}
	if _, err := db.GetHook(ctx, "hk-../x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("junk id: %v", err)
	}
}
