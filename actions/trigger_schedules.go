package actions

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// Scheduler is what schedules need of the workflow engine (*engine.Engine implements it).
// Errors: engine.ErrScheduleNotFound for an unknown schedule; engine.ErrBadSchedule for a
// spec the server refuses.
type Scheduler interface {
	CreateSchedule(ctx context.Context, s engine.Schedule) error
	UpdateSchedule(ctx context.Context, s engine.Schedule) error
	DescribeSchedule(ctx context.Context, id string) (*engine.ScheduleState, error)
	PauseSchedule(ctx context.Context, id string, paused bool, by string) error
	TriggerSchedule(ctx context.Context, id string) error
	DeleteSchedule(ctx context.Context, id string) error
}

// ScheduleStore keeps the index of a graph's schedules (*store.DB implements it). Errors:
// store.ErrNotFound for an unknown schedule.
type ScheduleStore interface {
	SaveScheduleRecord(ctx context.Context, r store.ScheduleRecord) error
	GetScheduleRecord(ctx context.Context, id string) (*store.ScheduleRecord, error)
	ListScheduleRecords(ctx context.Context, graphID string) ([]store.ScheduleRecord, error)
	DeleteScheduleRecord(ctx context.Context, id string) error
}

// ScheduleSpec is a schedule as asked for (the API's body): Cron or Every, a time zone
// (UTC when empty), a version number or "latest", the fixed input and the overlap policy.
type ScheduleSpec struct {
	Cron     string          `json:"cron,omitempty"`
	Every    string          `json:"every,omitempty"`
	TimeZone string          `json:"timezone,omitempty"`
	Version  json.RawMessage `json:"version,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
	Overlap  string          `json:"overlap,omitempty"`
	Paused   bool            `json:"paused"`
}

// MaxScheduleEvery is the longest interval.
const MaxScheduleEvery = 366 * 24 * time.Hour

// ScheduleView is a schedule as pages and the API show it: what was asked, and Temporal's
// state (nil when Temporal could not be read).
type ScheduleView struct {
	ID        string                `json:"id"`
	GraphID   string                `json:"graph_id"`
	Spec      ScheduleSpec          `json:"spec"`
	CreatedBy string                `json:"created_by"`
	CreatedAt time.Time             `json:"created_at"`
	State     *engine.ScheduleState `json:"state,omitempty"`
}

func (t *Triggers) schedules() (ScheduleStore, Scheduler, error) {
	if t.sched == nil {
		return nil, nil, errNoEngine("Schedules cannot be kept")
	}
	return t.store, t.sched, nil
}

func newScheduleID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new schedule id: %w", err)
	}
	return "sc-" + hex.EncodeToString(b), nil
}

// CreateSchedule checks a schedule and creates it on Temporal. Refusals: Invalid with the
// field (and the cron column) that is wrong or the input's problems; NotFound for an unknown
// graph or version; Conflict for a retired version.
func (t *Triggers) CreateSchedule(ctx context.Context, graphID string, spec ScheduleSpec, by string) (*ScheduleView, error) {
	st, sched, err := t.schedules()
	if err != nil {
		return nil, err
	}
	if _, err := t.a.graphs.GetGraph(ctx, graphID); err != nil {
		return nil, err
	}
	id, err := newScheduleID()
	if err != nil {
		return nil, err
	}
	s, err := t.checkSchedule(ctx, graphID, &spec)
	if err != nil {
		return nil, err
	}
	s.ID, s.By = id, by
	raw, _ := json.Marshal(spec)
	if err := st.SaveScheduleRecord(ctx, store.ScheduleRecord{ID: id, GraphID: graphID, Spec: raw, CreatedBy: by}); err != nil {
		return nil, err
	}
	if err := sched.CreateSchedule(ctx, *s); err != nil {
		_ = st.DeleteScheduleRecord(context.WithoutCancel(ctx), id)
		return nil, scheduleRefusal(err)
	}
	t.a.log.Info("schedule created", slog.String("schedule", id), slog.String("graph", graphID), slog.String("by", by))
	return t.GetSchedule(ctx, graphID, id)
}

// scheduleRefusal turns the server's refusal of a spec into an Invalid refusal.
func scheduleRefusal(err error) error {
	if errors.Is(err, engine.ErrBadSchedule) {
		return &Error{Kind: Invalid, Message: "Temporal refused the schedule: " + err.Error() + ".", Err: err}
	}
	if errors.Is(err, engine.ErrScheduleNotFound) {
		return &Error{Kind: NotFound, Message: "The schedule is not on the Temporal server.", Err: err}
	}
	return err
}

func invalidField(field, msg string, column int) *Error {
	return &Error{Kind: Invalid, Message: msg, Graph: []designer.Problem{{Field: field, Column: column, Message: msg}}}
}

// checkSchedule checks a spec (normalising it) and returns what the engine creates.
func (t *Triggers) checkSchedule(ctx context.Context, graphID string, spec *ScheduleSpec) (*engine.Schedule, error) {
	s := &engine.Schedule{GraphID: graphID, Paused: spec.Paused}
	spec.Cron, spec.Every, spec.TimeZone = strings.TrimSpace(spec.Cron), strings.TrimSpace(spec.Every), strings.TrimSpace(spec.TimeZone)
	switch {
	case spec.Cron != "" && spec.Every != "":
		return nil, invalidField("every", "Give either a cron expression or an interval, not both.", 0)
	case spec.Cron != "":
		cron, err := engine.ParseCron(spec.Cron)
		var ce *engine.CronError
		if errors.As(err, &ce) {
			where := fmt.Sprintf("column %d", ce.Column)
			if ce.Field != "" {
				where += " (" + ce.Field + ")"
			}
			return nil, invalidField("cron", fmt.Sprintf("The cron expression does not parse at %s: %s.", where, ce.Message), ce.Column)
		}
		s.Cron = cron
	case spec.Every != "":
		d, err := time.ParseDuration(spec.Every)
		if err != nil || d < engine.MinScheduleEvery || d > MaxScheduleEvery {
			return nil, invalidField("every", fmt.Sprintf("The interval %q must be a duration from 1s to 8784h, like 30s, 15m or 24h.", spec.Every), 0)
		}
		s.Every = d
	default:
		return nil, invalidField("cron", "Give a cron expression (like 0 9 * * MON-FRI) or an interval (like 15m).", 0)
	}
	if spec.TimeZone == "" {
		spec.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(spec.TimeZone); err != nil || strings.EqualFold(spec.TimeZone, "local") {
		return nil, invalidField("timezone", fmt.Sprintf("%q is not a time zone; use an IANA name like Europe/Berlin or UTC.", spec.TimeZone), 0)
	}
	s.TimeZone = spec.TimeZone
	if spec.Overlap == "" {
		spec.Overlap = engine.OverlapSkip
	}
	switch spec.Overlap {
	case engine.OverlapSkip, engine.OverlapBufferOne, engine.OverlapAllowAll:
		s.Overlap = spec.Overlap
	default:
		return nil, invalidField("overlap", fmt.Sprintf("overlap must be %s, %s or %s.", engine.OverlapSkip, engine.OverlapBufferOne, engine.OverlapAllowAll), 0)
	}
	version, err := scheduleVersion(spec.Version)
	if err != nil {
		return nil, err
	}
	s.Version = version
	input, err := t.checkScheduledInput(ctx, graphID, version, spec.Input)
	if err != nil {
		return nil, err
	}
	s.Input = input
	if version == 0 {
		spec.Version = json.RawMessage(`"latest"`)
	}
	return s, nil
}

// scheduleVersion reads a version: a number, or "latest" (also when absent) as 0.
func scheduleVersion(raw json.RawMessage) (int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `"latest"` || string(raw) == `""` {
		return 0, nil
	}
	text := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 {
		return 0, invalidField("version", `version must be a version number (1, 2, …) or "latest".`, 0)
	}
	return n, nil
}

// checkScheduledInput checks the fixed input against the version's schema (for "latest",
// the latest version's now; each firing checks again).
func (t *Triggers) checkScheduledInput(ctx context.Context, graphID string, version int, raw json.RawMessage) (any, error) {
	input := any(map[string]any{})
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && string(raw) != "null" {
		if len(raw) > MaxRunInputBytes {
			return nil, refusef(TooLarge, "The input is %d bytes; a run input may be at most %d bytes.", len(raw), MaxRunInputBytes)
		}
		if err := json.Unmarshal(raw, &input); err != nil {
			return nil, invalidField("input", "The input is not valid JSON.", 0)
		}
	}
	if _, _, err := t.a.versionFor(ctx, graphID, version, input); err != nil {
		return nil, err
	}
	return input, nil
}

// GetSchedule returns a schedule of a graph with its state.
func (t *Triggers) GetSchedule(ctx context.Context, graphID, id string) (*ScheduleView, error) {
	st, sched, err := t.schedules()
	if err != nil {
		return nil, err
	}
	r, err := st.GetScheduleRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if graphID != "" && r.GraphID != graphID {
		return nil, refusef(NotFound, "Graph %s has no schedule %s.", graphID, id)
	}
	return t.view(ctx, sched, r), nil
}

func (t *Triggers) view(ctx context.Context, sched Scheduler, r *store.ScheduleRecord) *ScheduleView {
	v := &ScheduleView{ID: r.ID, GraphID: r.GraphID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
	_ = json.Unmarshal(r.Spec, &v.Spec)
	state, err := sched.DescribeSchedule(ctx, r.ID)
	if err != nil {
		t.a.log.Warn("describe schedule", slog.String("schedule", r.ID), slog.Any("error", err))
	} else {
		v.State = state
		v.Spec.Paused = state.Paused
	}
	return v
}

// Schedules lists a graph's schedules with their states.
func (t *Triggers) Schedules(ctx context.Context, graphID string) ([]ScheduleView, error) {
	st, sched, err := t.schedules()
	if err != nil {
		return nil, err
	}
	rs, err := st.ListScheduleRecords(ctx, graphID)
	if err != nil {
		return nil, err
	}
	out := make([]ScheduleView, 0, len(rs))
	for i := range rs {
		out = append(out, *t.view(ctx, sched, &rs[i]))
	}
	return out, nil
}

// UpdateSchedule applies a patch (the fields of ScheduleSpec it holds) to a schedule.
func (t *Triggers) UpdateSchedule(ctx context.Context, id string, patch json.RawMessage, by string) (*ScheduleView, error) {
	st, sched, err := t.schedules()
	if err != nil {
		return nil, err
	}
	cur, err := t.GetSchedule(ctx, "", id)
	if err != nil {
		return nil, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(patch, &keys); err != nil {
		return nil, refusef(BadRequest, "The body must be a JSON object with the fields to change.")
	}
	spec := cur.Spec
	if _, ok := keys["cron"]; ok {
		spec.Every = ""
	}
	if _, ok := keys["every"]; ok {
		spec.Cron = ""
	}
	if err := json.Unmarshal(patch, &spec); err != nil {
		return nil, refusef(BadRequest, "The body does not fit a schedule: %s.", err.Error())
	}
	s, err := t.checkSchedule(ctx, cur.GraphID, &spec)
	if err != nil {
		return nil, err
	}
	s.ID, s.By = id, by
	if err := sched.UpdateSchedule(ctx, *s); err != nil {
		return nil, scheduleRefusal(err)
	}
	raw, _ := json.Marshal(spec)
	if err := st.SaveScheduleRecord(ctx, store.ScheduleRecord{ID: id, GraphID: cur.GraphID, Spec: raw}); err != nil {
		return nil, err
	}
	t.a.log.Info("schedule updated", slog.String("schedule", id), slog.String("by", by))
	return t.GetSchedule(ctx, "", id)
}

// PauseSchedule pauses or resumes a schedule of a graph ("" for any graph).
func (t *Triggers) PauseSchedule(ctx context.Context, graphID, id string, paused bool, by string) error {
	_, sched, err := t.schedules()
	if err != nil {
		return err
	}
	if _, err := t.GetSchedule(ctx, graphID, id); err != nil {
		return err
	}
	return scheduleRefusal(sched.PauseSchedule(ctx, id, paused, by))
}

// TriggerSchedule fires a schedule now ("run now").
func (t *Triggers) TriggerSchedule(ctx context.Context, graphID, id, by string) error {
	_, sched, err := t.schedules()
	if err != nil {
		return err
	}
	if _, err := t.GetSchedule(ctx, graphID, id); err != nil {
		return err
	}
	t.a.log.Info("schedule triggered", slog.String("schedule", id), slog.String("by", by))
	return scheduleRefusal(sched.TriggerSchedule(ctx, id))
}

// DeleteSchedule deletes a schedule; the runs it started go on.
func (t *Triggers) DeleteSchedule(ctx context.Context, graphID, id, by string) error {
	st, sched, err := t.schedules()
	if err != nil {
		return err
	}
	if _, err := t.GetSchedule(ctx, graphID, id); err != nil {
		return err
	}
	if err := sched.DeleteSchedule(ctx, id); err != nil && !errors.Is(err, engine.ErrScheduleNotFound) {
		return err
	}
	t.a.log.Info("schedule deleted", slog.String("schedule", id), slog.String("by", by))
	return st.DeleteScheduleRecord(ctx, id)
}

// ResolveScheduled is what a firing runs: the version and its definition, the input checked
// against its schema. Version 0 ("latest") follows the graph's traffic split as a manual start
// does, keyed by the firing's run id (or the sticky expression's value over the input), so a
// 90/10 split is 90/10 across firings; without a split it is the latest not retired. It
// satisfies engine.ScheduleResolver: a refusal wraps engine.ErrScheduleRefused.
func (t *Triggers) ResolveScheduled(ctx context.Context, graphID string, version int, input any, runID string) (int, *designer.Graph, error) {
	asked, err := version, error(nil)
	if asked == 0 {
		asked, err = t.a.routeVersion(ctx, graphID, runID, input)
	}
	if err == nil {
		var v *store.Version
		var def *designer.Graph
		if v, def, err = t.a.versionFor(ctx, graphID, asked, input); err == nil {
			return v.Version, def, nil
		}
		if ae := (*Error)(nil); errors.As(err, &ae) && len(ae.Input) > 0 {
			// The firing's failure says which part of the input does not fit.
			err = refusef(Invalid, "%s %s: %s", strings.TrimSuffix(ae.Message, "."), ae.Input[0].Path, ae.Input[0].Message)
		}
	}
	var ae *Error
	if errors.As(err, &ae) || errors.Is(err, store.ErrNotFound) {
		return 0, nil, fmt.Errorf("%w: %s", engine.ErrScheduleRefused, err.Error())
	}
	return 0, nil, err
}
