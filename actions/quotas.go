package actions

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"trellis/designer"
)

// Quotas bound what one user can put on the engine (issue 18: one analyst started 1,000 runs
// at 40/s; a run input nested 9,000 deep took 3 s to render; a wait of 100 years was
// accepted). The zero value of each field takes its default.
type Quotas struct {
	// MaxWait is the longest duration a wait node may give; default DefaultMaxWait.
	MaxWait time.Duration
	// RunsPerMinute is how many runs one user may start a minute, with bursts of up to half
	// as many at once; default DefaultRunsPerMinute.
	RunsPerMinute int
	// Now is the clock of the rate limit; default time.Now.
	Now func() time.Time
}

// Defaults of Quotas, and the deepest run input (as graph documents: designer's 256).
const (
	DefaultMaxWait       = 365 * 24 * time.Hour
	DefaultRunsPerMinute = 600
	MaxInputDepth        = 256
	// maxRateKeys bounds the rate limiter's memory; when full, idle buckets go first.
	maxRateKeys = 10000
)

// quotaState is the quotas in force and the per-user token buckets.
type quotaState struct {
	mu      sync.Mutex
	q       Quotas
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// SetQuotas sets the quotas; call it before serving.
func (a *Actions) SetQuotas(q Quotas) {
	if q.MaxWait <= 0 {
		q.MaxWait = DefaultMaxWait
	}
	if q.RunsPerMinute <= 0 {
		q.RunsPerMinute = DefaultRunsPerMinute
	}
	if q.Now == nil {
		q.Now = time.Now
	}
	a.quotas.mu.Lock()
	defer a.quotas.mu.Unlock()
	a.quotas.q = q
	a.quotas.buckets = map[string]*bucket{}
}

func (s *quotaState) get() Quotas {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q.MaxWait == 0 {
		s.q = Quotas{MaxWait: DefaultMaxWait, RunsPerMinute: DefaultRunsPerMinute, Now: time.Now}
		s.buckets = map[string]*bucket{}
	}
	return s.q
}

// takeRun spends one run start of user's bucket, or refuses with TooMany.
func (s *quotaState) takeRun(user string) error {
	q := s.get()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := q.Now()
	burst := max(1, float64(q.RunsPerMinute)/2)
	perSec := float64(q.RunsPerMinute) / 60
	b, ok := s.buckets[user]
	if !ok {
		if len(s.buckets) >= maxRateKeys {
			s.evictFull(now, burst, perSec)
		}
		b = &bucket{tokens: burst, at: now}
		s.buckets[user] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*perSec)
	b.at = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / perSec * float64(time.Second)).Round(time.Second)
		return refusef(TooMany, "You started too many runs in a short time (at most %d a minute). Try again in %s.", q.RunsPerMinute, max(wait, time.Second))
	}
	b.tokens--
	return nil
}

// evictFull drops buckets that have filled up again (their users are idle), or all if none.
func (s *quotaState) evictFull(now time.Time, burst, perSec float64) {
	for k, b := range s.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*perSec >= burst {
			delete(s.buckets, k)
		}
	}
	if len(s.buckets) >= maxRateKeys {
		clear(s.buckets)
	}
}

// checkRunQuotas refuses a run whose input is nested too deep or whose wait nodes wait too
// long, before anything walks the input or the engine sees it.
func (a *Actions) checkRunQuotas(def *designer.Graph, input any) error {
	if inputTooDeep(input, 0) {
		return &Error{Kind: Invalid, Message: fmt.Sprintf("The input is nested more than %d levels deep.", MaxInputDepth),
			Input: []designer.FieldError{{Path: "", Message: fmt.Sprintf("nested more than %d levels deep", MaxInputDepth)}}}
	}
	if def == nil {
		return nil
	}
	maxWait := a.quotas.get().MaxWait
	var problems []designer.Problem
	for _, n := range def.Nodes {
		if n.Kind != designer.KindWait {
			continue
		}
		var c struct {
			Duration string `json:"duration"`
			Until    string `json:"until"`
		}
		_ = json.Unmarshal(n.Config, &c)
		raw := c.Duration
		if d, err := time.ParseDuration(raw); err == nil && d > maxWait {
			problems = append(problems, designer.Problem{Node: n.ID, Field: "config.duration",
				Message: fmt.Sprintf("waits %s, longer than this server allows (%s)", raw, maxWait)})
		}
		if p := untilTooFar(n.ID, c.Until, input, a.quotas.get().Now(), maxWait); p != nil {
			problems = append(problems, *p)
		}
	}
	if len(problems) > 0 {
		return &Error{Kind: Invalid, Message: fmt.Sprintf("A wait node waits longer than this server allows (%s).", maxWait), Graph: problems}
	}
	return nil
}

// inputTooDeep reports whether v is nested deeper than MaxInputDepth; it stops there, so a
// hostile input costs no more than that.
func inputTooDeep(v any, depth int) bool {
	if depth > MaxInputDepth {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if inputTooDeep(e, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if inputTooDeep(e, depth+1) {
				return true
			}
		}
	}
	return false
}
