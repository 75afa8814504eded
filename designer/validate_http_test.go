package designer

import (
	"encoding/json"
	"testing"
)

func TestValidateHTTPQuery(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"query ok", doc(node("a", "http", `{"url":"https://x.test/s","query":{"q":"{{ input.q }}","key":"{{ secrets.K }}","n":"1"}}`), ""), nil},
		{"query empty object", doc(node("a", "http", `{"url":"https://x.test/s","query":{}}`), ""), nil},
		{"query null", doc(node("a", "http", `{"url":"https://x.test/s","query":null}`), ""), nil},
		{"query not an object", doc(node("a", "http", `{"url":"https://x.test/s","query":"q=1"}`), ""),
			[]want{nw("a", "config.query", "query must be an object of texts, not a string")}},
		{"query list", doc(node("a", "http", `{"url":"https://x.test/s","query":[["q","1"]]}`), ""),
			[]want{nw("a", "config.query", "query must be an object of texts, not a list")}},
		{"query value not text", doc(node("a", "http", `{"url":"https://x.test/s","query":{"n":5}}`), ""),
			[]want{nw("a", "config.query.n", "n must be text, not a number")}},
		{"query template error", doc(node("a", "http", `{"url":"https://x.test/s","query":{"q":"x {{ input. }}"}}`), ""),
			[]want{nc("a", "config.query.q", 12, "")}},
		{"query unclosed template", doc(node("a", "http", `{"url":"https://x.test/s","query":{"q":"{{ input.q"}}`), ""),
			[]want{nc("a", "config.query.q", 1, "unclosed {{")}},
		{"query unknown node", doc(node("a", "http", `{"url":"https://x.test/s","query":{"q":"{{ nodes.b.output }}"}}`), ""),
			[]want{nc("a", "config.query.q", 4, `unknown node "b"`)}},
		{"query empty name", doc(node("a", "http", `{"url":"https://x.test/s","query":{"":"1"}}`), ""),
			[]want{nw("a", "config.query", "a query parameter needs a name")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), ValidateEnv{}), tt.want)
		})
	}
}

func TestDecodeHTTPQuery(t *testing.T) {
	cfg, err := DecodeConfig(Node{ID: "a", Kind: KindHTTP, Config: json.RawMessage(`{"url":"https://x.test","query":{"q":"{{ input.q }}"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if q := cfg.(*HTTPConfig).Query; len(q) != 1 || q["q"] != "{{ input.q }}" {
		t.Errorf("query = %v", q)
	}
}
