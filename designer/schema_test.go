package designer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCompileSchemaRefusesOutsideTheSubset(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"oneOf", `{"oneOf":[{"type":"string"}]}`, `unsupported keyword "oneOf" at the top level`},
		{"ref deep", `{"type":"object","properties":{"a":{"type":"array","items":{"$ref":"#"}}}}`, `unsupported keyword "$ref" at /properties/a/items`},
		{"pattern", `{"type":"string","pattern":"^a"}`, `unsupported keyword "pattern"`},
		{"escaped property name", `{"properties":{"a/b":{"if":true}}}`, `unsupported keyword "if" at /properties/a~1b`},
		{"type list", `{"type":["string","null"]}`, `keyword "type" at the top level must be one of object, string, number, integer, boolean, array`},
		{"type null", `{"type":"null"}`, `keyword "type"`},
		{"boolean schema", `true`, "a schema must be an object, not a boolean"},
		{"property schema not an object", `{"properties":{"a":true}}`, "the schema at /properties/a must be an object, not a boolean"},
		{"required not names", `{"required":[1]}`, `keyword "required" at the top level must be a list of property names`},
		{"required twice", `{"required":["a","a"]}`, `names "a" twice`},
		{"enum empty", `{"enum":[]}`, `keyword "enum" at the top level must be a non-empty list`},
		{"enum of the wrong type", `{"type":"number","enum":[1,"two"]}`, `enum value "two" at the top level is not of type number`},
		{"default of the wrong type", `{"type":"integer","default":1.5}`, "default 1.5 at the top level is not of type integer"},
		{"default outside enum", `{"enum":["a","b"],"default":"c"}`, "is not one of the enum values"},
		{"minimum above maximum", `{"type":"number","minimum":5,"maximum":1}`, "minimum is greater than maximum"},
		{"minLength negative", `{"type":"string","minLength":-1}`, `keyword "minLength" at the top level must be a whole number, 0 or more`},
		{"unknown format", `{"type":"string","format":"phone"}`, `keyword "format" at the top level must be one of date, date-time, time, email, uri`},
		{"schema elsewhere", `{"properties":{"a":{"$schema":"https://json-schema.org/draft/2020-12/schema"}}}`, `"$schema" is allowed only at the top level`},
		{"other draft", `{"$schema":"http://json-schema.org/draft-07/schema#"}`, `keyword "$schema"`},
		{"additionalProperties schema", `{"additionalProperties":{"type":"string"}}`, `keyword "additionalProperties" at the top level must be true or false`},
		{"repeated keyword", `{"type":"string","type":"number"}`, `keyword "type" appears twice`},
		{"not JSON", `{"type":`, "schema is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileSchema(json.RawMessage(tt.schema))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

const refundSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["customer", "amount"],
  "additionalProperties": false,
  "properties": {
    "customer": {"type": "string", "title": "Customer e-mail", "format": "email"},
    "amount": {"type": "number", "title": "Amount (EUR)", "minimum": 1, "maximum": 10000},
    "reason": {"type": "string", "enum": ["damaged", "late", "other"], "default": "other", "description": "Why"},
    "count": {"type": "integer", "default": 1},
    "note": {"type": "string", "maxLength": 5},
    "tags": {"type": "array", "items": {"type": "string"}},
    "address": {"type": "object", "properties": {"country": {"type": "string", "default": "NL"}, "city": {"type": "string", "minLength": 2}}},
    "urgent": {"type": "boolean"}
  }
}`

func TestSchemaValidate(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(refundSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value string
		want  []FieldError
	}{
		{"valid", `{"customer":"a@b.test","amount":20,"count":3,"tags":["x"],"address":{"city":"Delft"},"urgent":true}`, nil},
		{"integer written as a float", `{"customer":"a@b.test","amount":20,"count":3.0}`, nil},
		{"missing", `{}`, []FieldError{{"/amount", "Amount (EUR) is required"}, {"/customer", "Customer e-mail is required"}}},
		{"wrong types", `{"customer":5,"amount":"20","count":1.5,"urgent":"yes"}`, []FieldError{
			{"/amount", "Amount (EUR) must be a number, not text"},
			{"/count", "count must be a whole number, not a number"},
			{"/customer", "Customer e-mail must be text, not a number"},
			{"/urgent", "urgent must be true or false, not text"}}},
		{"bounds and enum", `{"customer":"a@b.test","amount":0,"reason":"bored","note":"too long"}`, []FieldError{
			{"/amount", "Amount (EUR) must be at least 1"},
			{"/note", "note must be at most 5 characters long"},
			{"/reason", "reason must be one of damaged, late, other"}}},
		{"format", `{"customer":"nobody","amount":5}`, []FieldError{{"/customer", "Customer e-mail must be an e-mail address"}}},
		{"nested", `{"customer":"a@b.test","amount":5,"tags":["a",2],"address":{"city":"D"}}`, []FieldError{
			{"/address/city", "city must be at least 2 characters long"},
			{"/tags/1", "1 must be text, not a number"}}},
		{"stray field", `{"customer":"a@b.test","amount":5,"colour":"red"}`, []FieldError{{"/colour", "colour is not an expected field"}}},
		{"not an object", `[1]`, []FieldError{{"", "The value must be an object, not a list"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.value), &v); err != nil {
				t.Fatal(err)
			}
			if got := s.Validate(v); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Validate = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSchemaFieldsKeepTheWrittenOrder(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(refundSchema))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	if want := "customer amount reason count note tags address urgent"; strings.Join(names, " ") != want {
		t.Fatalf("fields = %v, want %s", names, want)
	}
	fields := s.Fields()
	if got, want := fields[0], (SchemaField{Name: "customer", Title: "Customer e-mail", Type: "string", Format: "email", Required: true}); !reflect.DeepEqual(got, want) {
		t.Fatalf("customer = %+v, want %+v", got, want)
	}
	reason := fields[2]
	if reason.Required || reason.Description != "Why" || reason.Default != "other" ||
		!reflect.DeepEqual(reason.Enum, []any{"damaged", "late", "other"}) || reason.Label() != "reason" {
		t.Fatalf("reason = %+v", reason)
	}
	if fields[3].Default != 1.0 {
		t.Fatalf("count default = %#v, want float64 1 as encoding/json gives", fields[3].Default)
	}
}

func TestSchemaApplyDefaults(t *testing.T) {
	s, err := CompileSchema(json.RawMessage(refundSchema))
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]any{"customer": "a@b.test", "count": 7.0, "address": map[string]any{}}
	s.ApplyDefaults(v)
	want := map[string]any{"customer": "a@b.test", "count": 7.0, "reason": "other", "address": map[string]any{"country": "NL"}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %v, want %v", v, want)
	}
}

func TestEmptySchemaAcceptsAnything(t *testing.T) {
	for _, raw := range []string{"", "null", " ", "{}"} {
		s, err := CompileSchema(json.RawMessage(raw))
		if err != nil {
			t.Fatalf("CompileSchema(%q): %v", raw, err)
		}
		if errs := s.Validate([]any{1, "x"}); errs != nil {
			t.Fatalf("CompileSchema(%q) refused a value: %v", raw, errs)
		}
		s.ApplyDefaults(map[string]any{})
		if s.Fields() != nil {
			t.Fatalf("CompileSchema(%q) has fields", raw)
		}
	}
	var nilSchema *Schema
	if nilSchema.Validate(1) != nil || nilSchema.Fields() != nil || nilSchema.Raw() != nil {
		t.Fatal("a nil schema should accept anything")
	}
	nilSchema.ApplyDefaults(map[string]any{})
}

// Every schema the subset check passes must compile: the validator relies on the check.
func TestSchemaCheckImpliesCompile(t *testing.T) {
	for _, raw := range []string{refundSchema, `{"type":"array","items":{"type":"object","properties":{"a":{"type":"integer","minimum":-1e300}}}}`,
		`{"enum":[1,"a",null,{"x":[1]}],"default":{"x":[1]}}`, `{"type":"string","format":"date-time","minLength":0,"maxLength":1073741824}`} {
		v, err := parseJSON([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSchema(&v); err != nil {
			t.Fatalf("check(%s): %v", raw, err)
		}
		if _, err := CompileSchema(json.RawMessage(raw)); err != nil {
			t.Fatalf("compile(%s): %v", raw, err)
		}
	}
}
