package schemaform

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/templates"
)

// FuzzSchemaForm: any schema a graph may carry becomes a form, any text in any of its
// controls is read back or refused with a message, the values are checked against the
// schema, and the form renders with what was typed escaped (issue 18: JSON Schema form
// handling). Nothing may panic.
func FuzzSchemaForm(f *testing.F) {
	// The form of web's test tasks: one control of each kind.
	f.Add([]byte(`{"type": "object", "required": ["amount"], "properties": {
	"amount": {"type": "number", "title": "Approved amount", "description": "In euros.", "minimum": 0},
	"category": {"type": "string", "enum": ["refund", "goodwill"], "default": "refund"},
	"urgent": {"type": "boolean", "title": "Urgent"},
	"items": {"type": "integer", "minimum": 1},
	"reason": {"type": "string", "title": "Reason"}}}`), "12.5")
	f.Add([]byte(`{"type":"object","required":["a"],"properties":{"a":{"type":"string","enum":["x","<y>"],"default":"x"},
		"b":{"type":"integer","minimum":1},"c":{"type":"boolean"},"d":{"type":"array","items":{"type":"string"}},
		"e":{"type":"string","format":"date-time","title":"<b>when</b>"}}}`), `["a", "b"]`)
	f.Add([]byte(`{"type":"object","properties":{"x":{"type":"object","properties":{"y":{"type":"number"}}}}}`), `{"y": "</textarea><script>alert(1)</script>"}`)
	f.Add([]byte(`{"type":"object","properties":{"n":{"type":"number","default":1e308}}}`), "1e400")
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, schema []byte, value string) {
		sch, err := designer.CompileSchema(json.RawMessage(schema))
		if err != nil || sch == nil {
			return
		}
		fields := Fields(sch)
		data := map[string]any{}
		for i := range fields {
			fields[i].Value = value
			v, msg := FieldValue(fields[i].Control, value)
			if v != nil && msg != "" {
				t.Fatalf("control %s: both a value and the error %q", fields[i].Control, msg)
			}
			if v != nil {
				data[fields[i].Name] = v
			}
		}
		for _, fe := range sch.Validate(data) {
			if steps := PointerSteps(fe.Path); len(steps) > 0 {
				PlaceError(fields, steps[0], fe.Message)
			}
		}
		var buf bytes.Buffer
		if err := templates.SchemaFields(templates.FormNames{Prefix: "input.", IDPrefix: "in-", TestID: "in"}, fields).Render(context.Background(), &buf); err != nil {
			t.Fatalf("render: %v", err)
		}
		if strings.Contains(value, "<script") && strings.Contains(buf.String(), "<script") {
			t.Fatalf("the typed value came out unescaped:\n%s", buf.String())
		}
	})
}
