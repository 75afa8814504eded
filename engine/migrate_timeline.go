package engine

import (
	"encoding/json"
	"time"
)

// TimelineMove is a run's move to another version, as its history records it.
type TimelineMove struct {
	From    int       `json:"from"`
	To      int       `json:"to"`
	By      string    `json:"by"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

type moveStep struct {
	req  MigrateRequest
	from int
}

// moveAccepted notes a "migrate" update; it says whether the update was one.
func (b *timelineBuilder) moveAccepted(name, updateID string, arg json.RawMessage) bool {
	if name != UpdateMigrate {
		return false
	}
	var req MigrateRequest
	if json.Unmarshal(arg, &req) != nil {
		return true
	}
	if b.moves == nil {
		b.moves = map[string]*moveStep{}
	}
	b.moves[updateID] = &moveStep{req: req, from: b.tl.Version}
	return true
}

// moveCompleted applies a move that succeeded: the nodes from then on are the target's.
// It says whether the update was a move.
func (b *timelineBuilder) moveCompleted(updateID string, ok bool, at time.Time) bool {
	m, found := b.moves[updateID]
	if !found {
		return false
	}
	delete(b.moves, updateID)
	if !ok {
		return true
	}
	b.tl.Moves = append(b.tl.Moves, TimelineMove{From: m.from, To: m.req.Version, By: m.req.By, Comment: m.req.Comment, At: at})
	b.tl.Version, b.tl.Definition = m.req.Version, m.req.Definition
	for _, n := range m.req.Definition.Nodes {
		b.kinds[n.ID] = n.Kind
	}
	return true
}
