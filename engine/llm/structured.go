package llm

import (
	"encoding/json"
	"fmt"
	"strings"

	"trellis/designer"
)

// answerName names the structured answer on the wire: OpenAI's json_schema name and
// Anthropic's tool.
const answerName = "answer"

// structured is a request's JSON schema, compiled for checking answers and shaped for
// the wire. Both protocols want an object at the root, so any other schema is sent
// wrapped as {"value": schema} and the answer unwrapped again.
type structured struct {
	schema  *designer.Schema
	wire    map[string]any
	wrapped bool
	// strict: the schema fits OpenAI's strict mode (every object closed with
	// additionalProperties false and all its properties required, only keywords strict
	// mode knows). Others are sent with strict false, which still guides the model, and
	// the answer is checked here either way.
	strict bool
}

func newStructured(raw json.RawMessage, schema *designer.Schema) (*structured, error) {
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("schema is not a JSON object: %w", err)
	}
	delete(root, "$schema")
	st := &structured{schema: schema, wire: root}
	if root["type"] != "object" {
		st.wrapped = true
		st.wire = map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"value": root},
			"required":             []any{"value"},
			"additionalProperties": false,
		}
	}
	st.strict = strictCompatible(st.wire)
	return st, nil
}

var strictKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"enum": true, "items": true, "description": true, "title": true,
}

func strictCompatible(s map[string]any) bool {
	for k := range s {
		if !strictKeywords[k] {
			return false
		}
	}
	if _, hasType := s["type"]; !hasType {
		return false
	}
	if s["type"] == "object" {
		if s["additionalProperties"] != false {
			return false
		}
		props, _ := s["properties"].(map[string]any)
		required := map[string]bool{}
		list, _ := s["required"].([]any)
		for _, r := range list {
			if name, ok := r.(string); ok {
				required[name] = true
			}
		}
		for name, p := range props {
			sub, ok := p.(map[string]any)
			if !ok || !required[name] || !strictCompatible(sub) {
				return false
			}
		}
	}
	if items, ok := s["items"].(map[string]any); ok && !strictCompatible(items) {
		return false
	}
	return true
}

// check decodes an answer and validates it. problem is empty when it fits; otherwise it
// says what is wrong, in words meant for the model.
func (st *structured) check(resp *Response) (v any, problem string) {
	v, err := decodeJSONAnswer(resp.Text)
	if err != nil {
		return nil, "the answer is not valid JSON (" + err.Error() + ")"
	}
	if st.wrapped {
		m, ok := v.(map[string]any)
		inner, has := m["value"]
		if !ok || !has {
			return nil, `the answer must be an object with a "value" field holding the result`
		}
		v = inner
	}
	if errs := st.schema.Validate(v); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, fe := range errs {
			msgs[i] = fe.Message
			if fe.Path != "" && !strings.Contains(fe.Message, fe.Path) {
				msgs[i] = fe.Path + ": " + fe.Message
			}
		}
		return nil, strings.Join(msgs, "; ")
	}
	return v, ""
}

// decodeJSONAnswer parses a model's JSON answer. Models without constrained decoding
// often wrap JSON in a Markdown code fence, which is dropped.
func decodeJSONAnswer(text string) (any, error) {
	s := strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[nl+1:] // drops the info string ("json")
		}
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "```"))
	}
	if s == "" {
		return nil, fmt.Errorf("it is empty")
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}
