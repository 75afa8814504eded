package engine

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Error types carried by node and run errors (NodeError.Type).
const (
	ErrTypeExpr             = "ExprError"
	ErrTypeTemplate         = "TemplateError"
	ErrTypeHTTPStatus       = "HTTPStatus"
	ErrTypeHTTPTransport    = "HTTPTransport"
	ErrTypeBadRequest       = "BadRequest"
	ErrTypeResponseTooLarge = "ResponseTooLarge"
	ErrTypeTooManyRedirects = "TooManyRedirects"
	ErrTypeSecret           = "SecretError"
	ErrTypeDefinition       = "InvalidDefinition"
	ErrTypeKindNotSupported = "KindNotSupported"
	ErrTypeBadWait          = "BadWait"
	ErrTypeTimeout          = "Timeout"
	ErrTypeCancelled        = "Cancelled"
	ErrTypeSubgraph         = "SubgraphError"
)

// NodeError is a node's or a run's error as shown to people.
type NodeError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
}

func nonRetryable(errType, msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, errType, nil)
}

// errorInfo turns an error from a kind (an activity, child workflow or timer error) into a
// NodeError, looking through Temporal's wrappers for the cause.
func errorInfo(err error) *NodeError {
	// A timeout comes first: its cause may be an earlier attempt's failure.
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		msg := "timed out (" + timeoutName(timeout.TimeoutType()) + ")"
		if last := timeout.Unwrap(); last != nil {
			msg += "; the attempt before failed: " + errorInfo(last).Message
		}
		return &NodeError{Message: msg, Type: ErrTypeTimeout}
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		t := app.Type()
		if t == "" {
			t = "Error"
		}
		return &NodeError{Message: app.Message(), Type: t}
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return &NodeError{Message: "cancelled", Type: ErrTypeCancelled}
	}
	var terminated *temporal.TerminatedError
	if errors.As(err, &terminated) {
		return &NodeError{Message: "terminated", Type: "Terminated"}
	}
	var panicErr *temporal.PanicError
	if errors.As(err, &panicErr) {
		return &NodeError{Message: panicErr.Error(), Type: "Panic"}
	}
	return &NodeError{Message: err.Error(), Type: "Error"}
}

func timeoutName(t enumspb.TimeoutType) string {
	switch t {
	case enumspb.TIMEOUT_TYPE_START_TO_CLOSE:
		return "per-attempt timeout"
	case enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
		return "overall timeout"
	case enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START:
		return "no worker picked it up"
	case enumspb.TIMEOUT_TYPE_HEARTBEAT:
		return "heartbeat"
	}
	return "timeout"
}

// attemptDetail rides in an activity failure's details so the workflow can count attempts;
// Attempts are the failed attempts so far, for the timeline (see newAttemptDetail).
type attemptDetail struct {
	Attempt  int32           `json:"attempt"`
	Attempts []attemptRecord `json:"attempts,omitempty"`
}

// activityFailure builds the error an activity returns: an ApplicationError of errType
// carrying the attempt number, retryable or not.
func activityFailure(ctx context.Context, errType string, retryable bool, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return temporal.NewApplicationErrorWithOptions(msg, errType,
		temporal.ApplicationErrorOptions{NonRetryable: !retryable,
			Details: []any{newAttemptDetail(ctx, errType, msg, retryable)}})
}

// attemptsOf finds how many attempts a failed activity made.
func attemptsOf(err error, max int32) int {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		var d attemptDetail
		if app.Details(&d) == nil && d.Attempt > 0 {
			return int(d.Attempt)
		}
	}
	var act *temporal.ActivityError
	if errors.As(err, &act) && act.RetryState() == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED && max > 0 {
		return int(max)
	}
	return 1
}
