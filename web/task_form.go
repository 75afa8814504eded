package web

import (
	"slices"
	"strings"

	"trellis/actions"
	"trellis/designer"
	"trellis/templates"
	"trellis/web/schemaform"
)

// taskSchema compiles a task's form; a failure means the rules changed since the run started.
var taskSchema = actions.TaskForm

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

// placeTaskProblems puts each problem on its field, and the rest on the form.
func placeTaskProblems(form *templates.TaskDecisionForm, probs []TaskProblem) {
	for _, p := range probs {
		msg := sentence(p.Message) + "."
		if p.Field == "comment" {
			form.CommentError = msg
			continue
		}
		if rest, ok := strings.CutPrefix(p.Field, "data."); ok {
			if head, _, _ := strings.Cut(rest, "."); schemaform.PlaceError(form.Fields, head, msg) {
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
