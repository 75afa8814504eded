package engine

import (
	"encoding/json"
	"time"
)

// TimelinePause is a time an operator held the run paused ("control" updates, recovery.go),
// as its history records it: To and ResumedBy stay empty while it is paused.
type TimelinePause struct {
	From          time.Time  `json:"from"`
	By            string     `json:"by"`
	Comment       string     `json:"comment,omitempty"`
	To            *time.Time `json:"to,omitempty"`
	ResumedBy     string     `json:"resumed_by,omitempty"`
	ResumeComment string     `json:"resume_comment,omitempty"`
}

// controlStep is a pause or resume asked for, and when it took effect: its handler runs in
// the workflow task that accepted it, whose start is also when the nodes it let go start.
type controlStep struct {
	req ControlRequest
	at  time.Time
}

// controlAccepted notes a "control" update; it says whether the update was one.
func (b *timelineBuilder) controlAccepted(name, updateID string, arg json.RawMessage, at time.Time) bool {
	if name != UpdateControl {
		return false
	}
	var req ControlRequest
	if json.Unmarshal(arg, &req) != nil {
		return true
	}
	if b.controls == nil {
		b.controls = map[string]controlStep{}
	}
	if !b.taskStart.IsZero() && b.taskStart.Before(at) {
		at = b.taskStart
	}
	b.controls[updateID] = controlStep{req: req, at: at}
	return true
}

// controlCompleted applies a pause or resume that succeeded, at the time it took effect.
// It says whether the update was a "control" one.
func (b *timelineBuilder) controlCompleted(updateID string, ok bool) bool {
	c, found := b.controls[updateID]
	if !found {
		return false
	}
	delete(b.controls, updateID)
	if !ok {
		return true
	}
	req, at := c.req, c.at
	ps := b.tl.Pauses
	switch {
	case req.Action == ActionPause:
		b.tl.Pauses = append(ps, TimelinePause{From: at, By: req.By, Comment: req.Comment})
	case req.Action == ActionResume && len(ps) > 0 && ps[len(ps)-1].To == nil:
		last := &ps[len(ps)-1]
		last.To, last.ResumedBy, last.ResumeComment = &at, req.By, req.Comment
	}
	return true
}
