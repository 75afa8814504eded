package actions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"trellis/internal/hookauth"
	"trellis/store"
)

// HookStore is what webhooks need of the store (*store.DB implements it). Errors:
// store.ErrNotFound for an unknown hook or graph; store.ErrInvalid for a hook it refuses.
type HookStore interface {
	CreateHook(ctx context.Context, h store.Hook, secret string) (*store.Hook, error)
	GetHook(ctx context.Context, id string) (*store.Hook, error)
	ListHooks(ctx context.Context, graphID string) ([]store.Hook, error)
	SetHookEnabled(ctx context.Context, id string, enabled bool) error
	RotateHookSecret(ctx context.Context, id, secret string) error
	HookSecret(ctx context.Context, h *store.Hook) (string, error)
	RecordHookDelivery(ctx context.Context, hookID string, d store.HookDelivery) error
	ListHookDeliveries(ctx context.Context, hookID string, limit int) ([]store.HookDelivery, error)
	ClaimHookKey(ctx context.Context, hookID, key string) (runID string, claimed bool, err error)
	SetHookKeyRun(ctx context.Context, hookID, key, runID string) error
}

// ErrHookAuth is a delivery whose signature or bearer secret is missing or wrong. Its
// message says nothing of what was expected.
var ErrHookAuth = errors.New("the delivery is not signed with this hook's secret")

// Limits of webhooks.
const (
	// MaxIdempotencyKey is the longest Idempotency-Key header taken.
	MaxIdempotencyKey = 200
	// keyWait is how long a retried delivery waits for the run its key's first delivery
	// is still starting.
	keyWait = 10 * time.Second
)

// TriggerStore is what triggers need of the store (*store.DB implements it).
type TriggerStore interface {
	HookStore
	ScheduleStore
}

// Triggers starts runs without a person: webhooks and schedules.
type Triggers struct {
	a     *Actions
	hooks HookStore
	store TriggerStore
	sched Scheduler
	now   func() time.Time
}

// NewTriggers returns the trigger actions over the run actions, the store and the
// scheduler; sched may be nil (schedules are then refused as unavailable).
func NewTriggers(a *Actions, st TriggerStore, sched Scheduler) *Triggers {
	return &Triggers{a: a, hooks: st, store: st, sched: sched, now: time.Now}
}

// NewHookSecret makes a secret for a hook: 32 random bytes as hex.
func NewHookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new hook secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// CreatedHook is a new hook with its secret, which is shown this once.
type CreatedHook struct {
	Hook   *store.Hook
	Secret string
}

// CreateHook adds a hook to a graph. A version, when given, must exist and not be retired.
// Refusals: NotFound for an unknown graph or version; Conflict for a retired version;
// Invalid for a bad name or auth.
func (t *Triggers) CreateHook(ctx context.Context, h store.Hook) (*CreatedHook, error) {
	if err := t.checkVersion(ctx, h.GraphID, h.Version); err != nil {
		return nil, err
	}
	secret, err := NewHookSecret()
	if err != nil {
		return nil, err
	}
	created, err := t.hooks.CreateHook(ctx, h, secret)
	if err != nil {
		return nil, err
	}
	t.a.log.Info("hook created", slog.String("hook", created.ID), slog.String("graph", h.GraphID), slog.String("by", h.CreatedBy))
	return &CreatedHook{Hook: created, Secret: secret}, nil
}

// checkVersion refuses a pinned version that does not exist or is retired; 0 (latest) passes.
func (t *Triggers) checkVersion(ctx context.Context, graphID string, version int) error {
	if _, err := t.a.graphs.GetGraph(ctx, graphID); err != nil {
		return err
	}
	if version == 0 {
		return nil
	}
	_, err := t.a.PickVersion(ctx, graphID, version)
	return err
}

// GraphHook returns a hook of a graph; a hook of another graph is NotFound.
func (t *Triggers) GraphHook(ctx context.Context, graphID, hookID string) (*store.Hook, error) {
	h, err := t.hooks.GetHook(ctx, hookID)
	if err != nil {
		return nil, err
	}
	if h.GraphID != graphID {
		return nil, refusef(NotFound, "Graph %s has no hook %s.", graphID, hookID)
	}
	return h, nil
}

// RotateHook gives a hook a new secret and returns it; the old one stops working at once.
func (t *Triggers) RotateHook(ctx context.Context, graphID, hookID, by string) (string, error) {
	if _, err := t.GraphHook(ctx, graphID, hookID); err != nil {
		return "", err
	}
	secret, err := NewHookSecret()
	if err != nil {
		return "", err
	}
	if err := t.hooks.RotateHookSecret(ctx, hookID, secret); err != nil {
		return "", err
	}
	t.a.log.Info("hook secret rotated", slog.String("hook", hookID), slog.String("by", by))
	return secret, nil
}

// SetHookEnabled turns a hook's deliveries on or off.
func (t *Triggers) SetHookEnabled(ctx context.Context, graphID, hookID string, enabled bool, by string) error {
	if _, err := t.GraphHook(ctx, graphID, hookID); err != nil {
		return err
	}
	if err := t.hooks.SetHookEnabled(ctx, hookID, enabled); err != nil {
		return err
	}
	t.a.log.Info("hook changed", slog.String("hook", hookID), slog.Bool("enabled", enabled), slog.String("by", by))
	return nil
}

// Delivery is a request to POST /hooks/{id}: the raw body and the headers that matter.
type Delivery struct {
	HookID         string
	Body           []byte
	Signature      string // X-Trellis-Signature
	Authorization  string // Authorization
	IdempotencyKey string
}

// Delivered is the run a delivery started, or the one its Idempotency-Key started before.
type Delivered struct {
	RunID    string
	Replayed bool
}

// Deliver checks a delivery and starts a run with its body as the input. Refusals: NotFound
// for an unknown or disabled hook; ErrHookAuth for a wrong or missing signature or bearer
// secret; BadRequest for a body that is not JSON or a bad key; Invalid with the input's
// problems; Conflict while the first delivery with the same key is still starting its run.
func (t *Triggers) Deliver(ctx context.Context, d Delivery) (*Delivered, error) {
	h, err := t.hooks.GetHook(ctx, d.HookID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !h.Enabled()) {
		return nil, refusef(NotFound, "There is no such hook.")
	}
	if err != nil {
		return nil, err
	}
	secret, err := t.hooks.HookSecret(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", h.ID, err)
	}
	if !hookauth.Authentic(h.Auth, secret, d.Body, d.Signature, d.Authorization) {
		return nil, ErrHookAuth
	}
	var input any
	if err := json.Unmarshal(d.Body, &input); err != nil {
		return nil, refusef(BadRequest, "The body is not valid JSON; send the run input as a JSON value.")
	}
	if d.IdempotencyKey == "" {
		return t.startFromHook(ctx, h, input)
	}
	if len(d.IdempotencyKey) > MaxIdempotencyKey || strings.ContainsFunc(d.IdempotencyKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, refusef(BadRequest, "An Idempotency-Key may be at most %d printable characters.", MaxIdempotencyKey)
	}
	return t.deliverOnce(ctx, h, input, d.IdempotencyKey)
}

// deliverOnce starts one run per key: the first delivery claims the key, later ones answer
// its run (waiting a little while it is still starting).
func (t *Triggers) deliverOnce(ctx context.Context, h *store.Hook, input any, key string) (*Delivered, error) {
	deadline := t.now().Add(keyWait)
	for {
		runID, claimed, err := t.hooks.ClaimHookKey(ctx, h.ID, key)
		if err != nil {
			return nil, err
		}
		if runID != "" {
			return &Delivered{RunID: runID, Replayed: true}, nil
		}
		if claimed {
			break
		}
		if t.now().After(deadline) {
			return nil, refusef(Conflict, "A delivery with this Idempotency-Key is still starting its run; try again shortly.")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	started, err := t.startFromHook(ctx, h, input)
	runID := ""
	if err == nil {
		runID = started.RunID
	}
	// A delivery that started no run releases its key, so that a corrected retry may.
	if serr := t.hooks.SetHookKeyRun(context.WithoutCancel(ctx), h.ID, key, runID); serr != nil && err == nil {
		err = serr
	}
	return started, err
}

func (t *Triggers) startFromHook(ctx context.Context, h *store.Hook, input any) (*Delivered, error) {
	run, err := t.a.StartRun(ctx, StartRequest{GraphID: h.GraphID, Version: h.Version, Input: input, By: StartedByHook(h.ID)})
	if err != nil {
		return nil, err
	}
	return &Delivered{RunID: run.RunID}, nil
}

// StartedByHook and StartedBySchedule are what a run records as its starter (StartRequest.By)
// when a hook or a schedule started it; a user's name otherwise.
func StartedByHook(id string) string     { return "hook:" + id }
func StartedBySchedule(id string) string { return "schedule:" + id }

// HookDeliveries are a hook's newest deliveries.
func (t *Triggers) HookDeliveries(ctx context.Context, hookID string, limit int) ([]store.HookDelivery, error) {
	return t.hooks.ListHookDeliveries(ctx, hookID, limit)
}

// Hooks are a graph's hooks.
func (t *Triggers) Hooks(ctx context.Context, graphID string) ([]store.Hook, error) {
	return t.hooks.ListHooks(ctx, graphID)
}

// RecordDelivery notes what a delivery got, for the Triggers tab; a failure to note it is
// logged, never the delivery's answer.
func (t *Triggers) RecordDelivery(ctx context.Context, hookID string, status int, runID, message string) {
	err := t.hooks.RecordHookDelivery(context.WithoutCancel(ctx), hookID, store.HookDelivery{At: t.now().UTC(), Status: status, RunID: runID, Message: message})
	if err != nil {
		t.a.log.Warn("record hook delivery", slog.String("hook", hookID), slog.Any("error", err))
	}
}
