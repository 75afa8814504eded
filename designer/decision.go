package designer

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxCommentLength bounds a reviewer's comment on a decision, in characters.
const MaxCommentLength = 4000

// Assignee kinds: an approval is assigned to "user:NAME" or "group:NAME".
const (
	AssigneeUser  = "user"
	AssigneeGroup = "group"
)

// Assigned reports whether assignee names the user, or a group of theirs.
func Assigned(assignee, user string, groups []string) bool {
	kind, name, ok := strings.Cut(assignee, ":")
	switch {
	case !ok || user == "":
		return false
	case kind == AssigneeUser:
		return name == user
	case kind == AssigneeGroup:
		return slices.Contains(groups, name)
	}
	return false
}

// MayDecide reports whether the reviewer by (in groups) may decide a task assigned to
// assignee and claimed by claimer ("" while unclaimed): once claimed only the claimer may,
// before that anyone it is assigned to.
func MayDecide(assignee, claimer, by string, groups []string) bool {
	if by == "" {
		return false
	}
	if claimer != "" {
		return claimer == by
	}
	return Assigned(assignee, by, groups)
}

// DecisionProblem names what does not fit in a decision: Field is "outcome", "comment",
// "data" or "data." and the property's path in dots; Path is the JSON Pointer into data.
type DecisionProblem struct {
	Field   string `json:"field"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// CheckDecision checks a decision against its approval: the outcome is one of outcomes, the
// comment fits MaxCommentLength, and data with form's defaults filled in fits form (nil
// for none). data itself is not changed.
func CheckDecision(outcomes []string, form *Schema, outcome, comment string, data map[string]any) []DecisionProblem {
	var probs []DecisionProblem
	if !slices.Contains(outcomes, outcome) {
		msg := fmt.Sprintf("outcome must be one of %s", strings.Join(outcomes, ", "))
		if outcome == "" {
			msg = "outcome is required: " + msg
		}
		probs = append(probs, DecisionProblem{Field: "outcome", Message: msg})
	}
	if n := utf8.RuneCountInString(comment); n > MaxCommentLength {
		probs = append(probs, DecisionProblem{Field: "comment",
			Message: fmt.Sprintf("comment is %d characters long; use at most %d", n, MaxCommentLength)})
	}
	if form == nil {
		return probs
	}
	for _, fe := range form.Validate(form.WithDefaults(data)) {
		probs = append(probs, DecisionProblem{Field: decisionDataField(fe.Path), Path: fe.Path, Message: fe.Message})
	}
	return probs
}

// WithDefaults is a copy of data with the schema's defaults filled in.
func (s *Schema) WithDefaults(data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
	}
	s.ApplyDefaults(out)
	return out
}

// decisionDataField names a place in the data: "data.reason", "data" for the whole.
func decisionDataField(ptr string) string {
	if ptr == "" {
		return "data"
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return "data." + strings.Join(parts, ".")
}
