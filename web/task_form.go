package web

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// taskSchema compiles a task's form. The engine compiled it when the run started, so a
// failure means the rules changed since; the task then takes no data.
func taskSchema(t *store.Task) (*designer.Schema, error) {
	sch, err := designer.CompileSchema(t.Form)
	if err != nil {
		return nil, fmt.Errorf("form of task %s: %w", t.ID, err)
	}
	return sch, nil
}

// taskCommentFields are the property names that already take the reviewer's remarks.
var taskCommentFields = []string{"comment", "comments", "note", "notes", "remark", "remarks"}

// taskFormHasComment reports whether the form has its own field for remarks: a top-level
// string property named comment, comments, note, notes, remark or remarks (any case). The
// page then shows no separate Comment box, so that the reviewer is not asked twice.
func taskFormHasComment(sch *designer.Schema) bool {
	for _, f := range sch.Fields() {
		if f.Type == "string" && len(f.Enum) == 0 && slices.Contains(taskCommentFields, strings.ToLower(f.Name)) {
			return true
		}
	}
	return false
}

// checkDecision checks what the reviewer sent against the task: the outcome is one of its
// outcomes, the comment is not too long, and the data fits the form (defaults applied).
func checkDecision(t *store.Task, sch *designer.Schema, outcome, comment string, data map[string]any) []TaskProblem {
	var probs []TaskProblem
	if !slices.Contains(t.Outcomes, outcome) {
		msg := fmt.Sprintf("outcome must be one of %s", strings.Join(t.Outcomes, ", "))
		if outcome == "" {
			msg = "outcome is required: " + msg
		}
		probs = append(probs, TaskProblem{Field: "outcome", Message: msg})
	}
	if n := utf8.RuneCountInString(comment); n > store.MaxTaskCommentLength {
		probs = append(probs, TaskProblem{Field: "comment", Message: fmt.Sprintf("comment is %d characters long; use at most %d", n, store.MaxTaskCommentLength)})
	}
	sch.ApplyDefaults(data)
	for _, fe := range sch.Validate(data) {
		probs = append(probs, TaskProblem{Field: taskDataField(fe.Path), Path: fe.Path, Message: fe.Message})
	}
	return probs
}

// taskDataField names a place in the data for problems: "data.reason", "data" for the whole.
func taskDataField(ptr string) string {
	if ptr == "" {
		return "data"
	}
	return "data." + strings.Join(pointerSteps(ptr), ".")
}

// placeTaskProblems puts each problem on its field, and the rest on the form.
func placeTaskProblems(form *templates.TaskDecisionForm, probs []TaskProblem) {
	for _, p := range probs {
		msg := sentence(p.Message) + "."
		if p.Field == "comment" {
			form.CommentError = msg
			continue
		}
		if rest, ok := strings.CutPrefix(p.Field, "data."); ok {
			if head, _, _ := strings.Cut(rest, "."); placeFieldError(form.Fields, head, msg) {
				continue
			}
		}
		form.Errors = append(form.Errors, msg)
	}
}

// taskOutcomes are the submit buttons: the first outcome is the main one, and outcomes that
// say no look like it.
func taskOutcomes(outcomes []string) []templates.TaskOutcome {
	out := make([]templates.TaskOutcome, len(outcomes))
	for i, o := range outcomes {
		style := "secondary"
		lower := strings.ToLower(o)
		switch {
		case strings.Contains(lower, "reject") || strings.Contains(lower, "deny") || strings.Contains(lower, "decline"):
			style = "danger"
		case i == 0:
			style = "primary"
		}
		out[i] = templates.TaskOutcome{Value: o, Label: templates.Humanize(o), Style: style}
	}
	return out
}
