package web

import (
	"strings"
	"time"

	"trellis/engine"
	"trellis/templates"
)

// runNotReached is how the run pages show a node still pending when its run has ended: the
// run stopped before the node's turn came. The API keeps "pending".
const runNotReached = "not-reached"

// runErrorTitles say what an error type means, for people; the type itself stays in the
// page for developers (a title attribute) and in the API.
var runErrorTitles = map[string]string{
	engine.ErrTypeLLMProvider:      "No usable LLM provider",
	engine.ErrTypeSecret:           "A secret is missing",
	engine.ErrTypeExpr:             "An expression failed",
	engine.ErrTypeTemplate:         "A template failed",
	engine.ErrTypeHTTPStatus:       "The service answered with an error",
	engine.ErrTypeHTTPTransport:    "The service could not be reached",
	engine.ErrTypeBadRequest:       "The request could not be made",
	engine.ErrTypeResponseTooLarge: "The answer was too large",
	engine.ErrTypeTooManyRedirects: "Too many redirects",
	engine.ErrTypeDefinition:       "The graph cannot run",
	engine.ErrTypeKindNotSupported: "This kind of step cannot run here",
	engine.ErrTypeBadWait:          "The wait is not valid",
	engine.ErrTypeTimeout:          "Timed out",
	engine.ErrTypeCancelled:        "Stopped",
	engine.ErrTypeSubgraph:         "The subgraph run failed",
	engine.ErrTypeApproval:         "The approval step failed",
	"Terminated":                   "Terminated",
	"LLMRateLimited":               "The LLM provider is rate limiting",
	"LLMServerError":               "The LLM provider had an error",
	"LLMTimeout":                   "The LLM provider did not answer in time",
	"LLMUnreachable":               "The LLM provider could not be reached",
	"LLMUnauthorized":              "The LLM provider refused the API key",
	"LLMForbidden":                 "The LLM provider refused the request",
	"LLMNotFound":                  "The LLM provider does not know the model or address",
	"LLMBadRequest":                "The LLM provider refused the request",
	"LLMBadResponse":               "The LLM provider's answer could not be read",
	"LLMRefused":                   "The model declined to answer",
	"LLMSchemaMismatch":            "The model's answer did not fit the schema",
	"LLMInvalidSchema":             "The output schema cannot be used",
}

// runErrorView is an error as the run pages show it: what happened in words, the message
// without command-line advice, and where an admin fixes it. admin says whether the viewer
// may open the admin pages, so that others are told whom to ask instead of a link that
// would be refused.
func runErrorView(e *engine.NodeError, admin bool) *templates.RunErrorView {
	if e == nil {
		return nil
	}
	v := &templates.RunErrorView{Type: e.Type, Title: runErrorTitles[e.Type], Message: e.Brief()}
	if v.Title == "" {
		v.Title = "Failed"
	}
	var what, href string
	switch e.Fix() {
	case engine.FixProviders:
		what, href = "an LLM provider", "/admin/providers"
	case engine.FixSecrets:
		what, href = "the secret", "/admin/secrets"
	}
	switch {
	case href != "" && admin:
		v.FixHref = href
		v.FixText = "Set up " + what + " on the " + runAdminPage(href) + " page"
	case href != "":
		v.FixText = "Ask an admin to set up " + what + " (Admin › " + runAdminPage(href) + ")."
	}
	return v
}

func runAdminPage(href string) string {
	if href == "/admin/secrets" {
		return "Secrets"
	}
	return "LLM providers"
}

// runSameError says whether two errors say the same thing.
func runSameError(a, b *engine.NodeError) bool {
	return a != nil && b != nil && a.Type == b.Type && a.Message == b.Message
}

// runNodeName is a node as sentences name it: its label, or its id.
func runNodeName(label, id string) string {
	if strings.TrimSpace(label) == "" {
		return id
	}
	return label
}

func runWasWere(n int) string {
	if n == 1 {
		return " was"
	}
	return " were"
}

// runCancelledNote says when a run was cancelled, by whom and why: cancelRun writes the
// reason as "cancelled by NAME: REASON"; another tool's reason is quoted as it is.
func runCancelledNote(at *time.Time, reason string) string {
	note := "The run was cancelled"
	reason = strings.TrimSpace(reason)
	if rest, ok := strings.CutPrefix(reason, "cancelled by "); ok {
		by, why, _ := strings.Cut(rest, ": ")
		if by != "" {
			note += " by " + by
		}
		reason = strings.TrimSpace(why)
	}
	if at != nil {
		note += " at " + at.UTC().Format("15:04:05 MST")
	}
	if reason != "" {
		return note + ": “" + reason + "”."
	}
	return note + "."
}
