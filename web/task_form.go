package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// taskDataPrefix starts the names of a task form's fields, so that no property can clash
// with the form's own fields (_csrf, outcome, comment).
const taskDataPrefix = "data."

// taskSchema compiles a task's form. The engine compiled it when the run started, so a
// failure means the rules changed since; the task then takes no data.
func taskSchema(t *store.Task) (*designer.Schema, error) {
	sch, err := designer.CompileSchema(t.Form)
	if err != nil {
		return nil, fmt.Errorf("form of task %s: %w", t.ID, err)
	}
	return sch, nil
}

// taskFormFields builds the controls of a task's form, one per top-level property in the
// order the schema writes them, defaults filled in.
func taskFormFields(sch *designer.Schema) []templates.TaskFormField {
	var out []templates.TaskFormField
	for _, sf := range sch.Fields() {
		f := templates.TaskFormField{Name: sf.Name, Label: taskFieldLabel(sf), Hint: sf.Description, Required: sf.Required}
		switch {
		case len(sf.Enum) > 0:
			f.Control = templates.TaskControlSelect
			if !sf.Required || sf.Default == nil {
				f.Options = append(f.Options, templates.TaskFormOption{Value: "", Label: "Choose…"})
			}
			for _, e := range sf.Enum {
				v := taskJSONText(e)
				f.Options = append(f.Options, templates.TaskFormOption{Value: v, Label: fmt.Sprint(e),
					Selected: sf.Default != nil && v == taskJSONText(sf.Default)})
			}
		case sf.Type == "boolean":
			f.Control = templates.TaskControlCheckbox
		case sf.Type == "number":
			f.Control = templates.TaskControlNumber
		case sf.Type == "integer":
			f.Control = templates.TaskControlInteger
		case sf.Type == "string":
			f.Control = taskStringControl(sf)
		default: // objects, lists and untyped properties take JSON
			f.Control = templates.TaskControlJSON
			f.Hint = strings.TrimSpace(f.Hint + " Write it as JSON.")
		}
		if sf.Format == "date-time" {
			f.Hint = strings.TrimSpace(f.Hint + " Like 2025-01-31T09:00:00Z.")
		}
		switch d := sf.Default.(type) {
		case bool:
			f.Checked = d
		case string:
			f.Value = d
		case float64:
			f.Value = strconv.FormatFloat(d, 'f', -1, 64)
		case nil:
		default:
			f.Value = taskJSONText(d)
		}
		out = append(out, f)
	}
	return out
}

// taskFieldLabel is a field's schema title, or else its name in words ("refund_amount" is
// "Refund amount").
func taskFieldLabel(sf designer.SchemaField) string {
	if sf.Title != "" {
		return sf.Title
	}
	return templates.Humanize(sf.Name)
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

func taskStringControl(sf designer.SchemaField) string {
	switch sf.Format {
	case "date":
		return templates.TaskControlDate
	case "email":
		return templates.TaskControlEmail
	case "uri":
		return templates.TaskControlURL
	}
	// A textarea where the schema hints at long text.
	words := strings.ToLower(sf.Name + " " + sf.Title + " " + sf.Description)
	for _, w := range []string{"reason", "comment", "note", "message", "description", "text", "explanation", "details"} {
		if strings.Contains(words, w) {
			return templates.TaskControlTextarea
		}
	}
	return templates.TaskControlText
}

func taskJSONText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// readTaskForm reads the submitted form into data and returns the fields as submitted, with
// an error on each that could not be read.
func readTaskForm(c echo.Context, fields []templates.TaskFormField) (map[string]any, []templates.TaskFormField, bool) {
	data := map[string]any{}
	ok := true
	for i := range fields {
		f := &fields[i]
		raw := c.FormValue(taskDataPrefix + f.Name)
		f.Value, f.Checked = raw, raw == "true"
		for k := range f.Options {
			f.Options[k].Selected = f.Options[k].Value == raw
		}
		v, msg := taskFieldValue(f.Control, raw)
		if msg != "" {
			f.Error, ok = msg, false
			continue
		}
		if v != nil {
			data[f.Name] = v
		}
	}
	return data, fields, ok
}

// taskFieldValue converts one control's text; nil means left empty.
func taskFieldValue(control, raw string) (any, string) {
	if control == templates.TaskControlCheckbox {
		return raw == "true", ""
	}
	if control != templates.TaskControlTextarea && control != templates.TaskControlText {
		raw = strings.TrimSpace(raw)
	}
	if raw == "" {
		return nil, ""
	}
	switch control {
	case templates.TaskControlNumber:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, "Enter a number, such as 12.5."
		}
		return n, ""
	case templates.TaskControlInteger:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "Enter a whole number, such as 3."
		}
		return float64(n), ""
	case templates.TaskControlSelect, templates.TaskControlJSON:
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			if control == templates.TaskControlSelect {
				return nil, "Choose one of the options."
			}
			return nil, "Write valid JSON here, such as [\"a\", \"b\"] or {\"key\": 1}."
		}
		return v, ""
	}
	return raw, ""
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
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return "data." + strings.Join(parts, ".")
}

// placeTaskProblems puts each problem on its field, and the rest on the form.
func placeTaskProblems(form *templates.TaskDecisionForm, probs []TaskProblem) {
	byName := map[string]int{}
	for i, f := range form.Fields {
		byName[f.Name] = i
	}
	for _, p := range probs {
		if p.Field == "comment" {
			form.CommentError = sentence(p.Message) + "."
			continue
		}
		head := strings.TrimPrefix(p.Field, "data.")
		if i := strings.IndexByte(head, '.'); i >= 0 {
			head = head[:i]
		}
		if i, ok := byName[head]; ok && strings.HasPrefix(p.Field, "data.") {
			if form.Fields[i].Error == "" {
				form.Fields[i].Error = sentence(p.Message) + "."
			}
			continue
		}
		form.Errors = append(form.Errors, sentence(p.Message)+".")
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
