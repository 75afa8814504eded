package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

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

// Settings a node error can point at, so that pages link to where they are changed.
const (
	FixProviders = "providers"
	FixSecrets   = "secrets"
)

// Fix says which setting would fix the error: FixProviders when an llm node finds no usable
// provider or model, FixSecrets when a secret (an API key) is missing or refused; "" when
// the fix is in the graph, the input or the service called.
func (e *NodeError) Fix() string {
	if e == nil {
		return ""
	}
	switch e.Type {
	case ErrTypeLLMProvider, errTypeLLMPrefix + "NotFound":
		return FixProviders
	case ErrTypeSecret, errTypeLLMPrefix + "Unauthorized", errTypeLLMPrefix + "Forbidden":
		return FixSecrets
	}
	return ""
}

// cliHint matches the command-line advice some errors end with ("…; configure one with:
// trellis provider set …"); pages offer a link to the admin page instead.
var cliHint = regexp.MustCompile(`(?:[;:,]\s*(?:configure (?:one|it) with|set it with)\s*:\s*trellis\s.*$|\s*\(trellis [^)]*\)|\s*\(a local Ollama;[^)]*\))`)

// Brief is the message without command-line advice, for pages that show their own way to
// fix it (see Fix).
func (e *NodeError) Brief() string {
	if e == nil {
		return ""
	}
	if e.Fix() == "" {
		return e.Message
	}
	return strings.TrimSpace(cliHint.ReplaceAllString(e.Message, ""))
}

// FailedNode reads a run's error as the interpreter writes it when a node fails the run
// (`node "ID" failed: MESSAGE`): the node and the node's own message. ok is false for any
// other run error (a bad output expression, a cancellation, a termination).
func (e *NodeError) FailedNode() (node, message string, ok bool) {
	if e == nil || !strings.HasPrefix(e.Message, "node ") {
		return "", "", false
	}
	rest := e.Message[len("node "):]
	q, err := strconv.QuotedPrefix(rest)
	if err != nil || !strings.HasPrefix(rest[len(q):], " failed: ") {
		return "", "", false
	}
	node, err = strconv.Unquote(q)
	if err != nil {
		return "", "", false
	}
	return node, rest[len(q)+len(" failed: "):], true
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
