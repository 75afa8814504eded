package engine

import (
	"context"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
)

const (
	// maxRecordedAttempts bounds the failed attempts an activity carries forward: the most
	// recent ones, so that an activity retried without end stays small.
	maxRecordedAttempts = 20
	// maxRecordedMessage bounds each recorded error message, in bytes.
	maxRecordedMessage = 1000
)

// attemptRecord is one failed attempt of an activity, as the activity itself saw it.
//
// Temporal's history keeps only the last failure of an activity that is retried (in the
// ActivityTaskStarted event of the attempt that ends it, and in ActivityTaskFailed), and no
// times of attempts before the last. So each failing attempt of a Trellis activity records
// itself: it reads the records of the attempts before it from the heartbeat details the
// server carries from one attempt to the next, adds its own, heartbeats the list for the
// next attempt, and puts it in its failure's details, which history does keep.
type attemptRecord struct {
	Attempt   int32     `json:"attempt"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	Error     NodeError `json:"error"`
}

// newAttemptDetail is the detail a failing Trellis activity attaches to its error: its
// attempt number and the failed attempts so far, this one last. A local activity (which
// cannot heartbeat) records only its attempt number.
func newAttemptDetail(ctx context.Context, errType, msg string, retryable bool) attemptDetail {
	info := activity.GetInfo(ctx)
	d := attemptDetail{Attempt: info.Attempt}
	if info.IsLocalActivity {
		return d
	}
	var prior []attemptRecord
	if activity.HasHeartbeatDetails(ctx) {
		// Details of another shape (none today) are simply not carried forward.
		_ = activity.GetHeartbeatDetails(ctx, &prior)
	}
	if len(prior) >= maxRecordedAttempts {
		prior = prior[len(prior)-maxRecordedAttempts+1:]
	}
	rec := attemptRecord{Attempt: info.Attempt, StartedAt: info.StartedTime.UTC(), EndedAt: time.Now().UTC(),
		Error: NodeError{Type: errType, Message: clipMessage(msg)}}
	d.Attempts = append(prior, rec)
	if retryable {
		// The first heartbeat of an attempt is sent at once, before the failure.
		activity.RecordHeartbeat(ctx, d.Attempts)
	}
	return d
}

func clipMessage(s string) string {
	if len(s) <= maxRecordedMessage {
		return s
	}
	cut := maxRecordedMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
