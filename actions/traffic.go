package actions

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"trellis/designer"
	"trellis/store"
)

// TrafficStore keeps graphs' traffic settings (*store.DB implements it). The actions use it
// when their graph store is one; without it every run started without a version goes to
// the latest version that is not retired.
type TrafficStore interface {
	GetTraffic(ctx context.Context, graphID string) (*store.Traffic, error)
	SetTraffic(ctx context.Context, t store.Traffic) error
}

// TrafficRequest is the body of PUT /graphs/{id}/traffic.
type TrafficRequest struct {
	Splits []store.TrafficSplit `json:"splits"`
	Sticky string               `json:"sticky,omitempty"`
}

// MaxSplits bounds how many versions share traffic at once.
const MaxSplits = 20

func (a *Actions) trafficStore() (TrafficStore, error) {
	ts, ok := a.graphs.(TrafficStore)
	if !ok {
		return nil, refusef(Unavailable, "Traffic settings: this server's store does not keep them.")
	}
	return ts, nil
}

// Traffic is a graph's traffic setting, or nil when runs go to the latest version.
func (a *Actions) Traffic(ctx context.Context, graphID string) (*store.Traffic, error) {
	if !store.ValidGraphID(graphID) {
		return nil, refusef(NotFound, "There is no graph %q.", graphID)
	}
	ts, err := a.trafficStore()
	if err != nil {
		return nil, err
	}
	if _, err := a.graphs.GetGraph(ctx, graphID); err != nil {
		return nil, err
	}
	return ts.GetTraffic(ctx, graphID)
}

// SetTraffic checks and saves a graph's split. Refusals: Invalid naming the field for an
// unknown or retired version, a version named twice, a percent outside 0–100, percentages
// that do not add up to 100, and a sticky expression that does not compile or reads more
// than the input. No splits clears the setting.
func (a *Actions) SetTraffic(ctx context.Context, graphID string, req TrafficRequest, by string) (*store.Traffic, error) {
	ts, err := a.trafficStore()
	if err != nil {
		return nil, err
	}
	if !store.ValidGraphID(graphID) {
		return nil, refusef(NotFound, "There is no graph %q.", graphID)
	}
	versions, err := a.graphs.ListVersions(ctx, graphID)
	if err != nil {
		return nil, err
	}
	if probs := checkTraffic(req, versions); len(probs) > 0 {
		return nil, &Error{Kind: Invalid, Message: "The traffic setting is not valid: " + ProblemText(probs[0]), Graph: probs}
	}
	t := store.Traffic{GraphID: graphID, Splits: slices.Clone(req.Splits), Sticky: req.Sticky, UpdatedBy: by}
	slices.SortFunc(t.Splits, func(x, y store.TrafficSplit) int { return x.Version - y.Version })
	if err := ts.SetTraffic(ctx, t); err != nil {
		return nil, err
	}
	a.log.Info("traffic set", slog.String("graph", graphID), slog.Any("splits", t.Splits), slog.String("by", by))
	return ts.GetTraffic(ctx, graphID)
}

// Promote sends every new run to one version (100 %), keeping the sticky expression.
func (a *Actions) Promote(ctx context.Context, graphID string, version int, by string) (*store.Traffic, error) {
	req := TrafficRequest{Splits: []store.TrafficSplit{{Version: version, Percent: 100}}}
	if cur, err := a.Traffic(ctx, graphID); err != nil {
		return nil, err
	} else if cur != nil {
		req.Sticky = cur.Sticky
	}
	return a.SetTraffic(ctx, graphID, req, by)
}

func checkTraffic(req TrafficRequest, versions []store.Version) []designer.Problem {
	var probs []designer.Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, designer.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(req.Splits) > MaxSplits {
		add("splits", "at most %d versions can share traffic", MaxSplits)
		return probs
	}
	sum, seen := 0, map[int]bool{}
	for i, s := range req.Splits {
		field := fmt.Sprintf("splits[%d]", i)
		j := slices.IndexFunc(versions, func(v store.Version) bool { return v.Version == s.Version })
		switch {
		case j < 0:
			add(field+".version", "version %d does not exist", s.Version)
		case versions[j].Retired:
			add(field+".version", "version %d is retired and cannot receive traffic", s.Version)
		case seen[s.Version]:
			add(field+".version", "version %d is named twice", s.Version)
		}
		seen[s.Version] = true
		if s.Percent < 0 || s.Percent > 100 {
			add(field+".percent", "percent %d is not between 0 and 100", s.Percent)
		}
		sum += s.Percent
	}
	if len(req.Splits) > 0 && sum != 100 {
		add("splits", "the percentages add up to %d, not 100", sum)
	}
	if req.Sticky != "" {
		e, err := designer.CompileExpr(req.Sticky)
		var xe *designer.ExprError
		switch {
		case errors.As(err, &xe):
			probs = append(probs, designer.Problem{Field: "sticky", Column: xe.Column, Message: xe.Message})
		case err != nil:
			add("sticky", "%v", err)
		case slices.ContainsFunc(e.Refs().Roots, func(r string) bool { return r != designer.RootInput }):
			add("sticky", "the sticky expression may read only input")
		}
	}
	return probs
}

// ChooseVersion picks the version for a routing key: the key's hash falls into one of 100
// buckets and the splits, in order, take as many buckets as their percent. The same key
// always gets the same version under the same split.
func ChooseVersion(splits []store.TrafficSplit, key string) int {
	h := sha256.Sum256([]byte(key))
	bucket := int(binary.BigEndian.Uint64(h[:8]) % 100)
	acc := 0
	for _, s := range splits {
		acc += s.Percent
		if bucket < acc {
			return s.Version
		}
	}
	if len(splits) == 0 {
		return 0
	}
	return splits[len(splits)-1].Version
}

// routeVersion is the version the graph's split gives a run started without one, or 0 when
// there is no split (or only a retired version would take it: the latest then does). The
// sticky expression's value is the key when it gives one; else the run id is.
func (a *Actions) routeVersion(ctx context.Context, graphID, runID string, input any) (int, error) {
	ts, ok := a.graphs.(TrafficStore)
	if !ok {
		return 0, nil
	}
	t, err := ts.GetTraffic(ctx, graphID)
	if err != nil || t == nil {
		return 0, err
	}
	v := ChooseVersion(t.Splits, a.routingKey(t, runID, input))
	got, err := a.graphs.GetVersion(ctx, graphID, v)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// A store that fails now must not quietly send the run to another version.
		return 0, fmt.Errorf("traffic split of %s: %w", graphID, err)
	}
	if err != nil || got.Retired {
		a.log.Warn("traffic names a version that cannot run; starting on the latest", slog.String("graph", graphID), slog.Int("version", v))
		return 0, nil
	}
	return v, nil
}

// routingKey is the sticky expression's value over the input (a string as it is, anything
// else as JSON), or the run id when there is none or it gives null or fails.
func (a *Actions) routingKey(t *store.Traffic, runID string, input any) string {
	if t.Sticky == "" {
		return runID
	}
	key, err := StickyKey(t.Sticky, input)
	if err != nil || key == "" {
		a.log.Warn("sticky key not found; routing by run id", slog.String("graph", t.GraphID), slog.Any("error", err))
		return runID
	}
	return key
}

// StickyKey evaluates a sticky expression over an input: "" for null.
func StickyKey(sticky string, input any) (string, error) {
	e, err := designer.CompileExpr(sticky)
	if err != nil {
		return "", err
	}
	v, err := e.Eval(map[string]any{designer.RootInput: input})
	if err != nil || v == nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return "s:" + s, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return "j:" + string(b), nil
}
