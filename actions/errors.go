package actions

import (
	"fmt"

	"trellis/designer"
)

// Kind is why an action was refused; web maps each to an HTTP status.
type Kind int

// Kinds of refusal.
const (
	Invalid     Kind = iota + 1 // the request does not fit: see the problems
	Conflict                    // the state changed, or forbids it (retired, decided, stale)
	Forbidden                   // not the user's to do
	NotFound                    // what it names does not exist
	Unavailable                 // a service it needs is missing or did not answer
	BadRequest                  // the request is not what the action takes at all
	TooLarge                    // the request is over a limit
	TooMany                     // too many requests of this kind in a short time: try later
)

// Error is a refused action. Message is one sentence safe to show; the problem lists, when
// set, say what to fix where.
type Error struct {
	Kind    Kind
	Message string
	// Graph are the problems of a graph (publish, a version or draft that cannot run).
	Graph []designer.Problem
	// Input are where a run's input does not fit the input schema.
	Input []designer.FieldError
	// Decision are where a decision does not fit its task.
	Decision []designer.DecisionProblem
	// Err is the internal cause, for the log.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func refusef(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}
