package engine

import "testing"

// TestNodeErrorWords: errors that an admin fixes say where (Fix), lose their command-line
// advice (Brief), and a run's error names the node that failed it (FailedNode).
func TestNodeErrorWords(t *testing.T) {
	tests := []struct {
		name       string
		err        NodeError
		fix, brief string
	}{
		{"no provider", NodeError{Type: ErrTypeLLMProvider, Message: "no LLM provider is configured; " + configureHint},
			FixProviders, "no LLM provider is configured"},
		{"no default provider", NodeError{Type: ErrTypeLLMProvider, Message: `no LLM provider named "default" is configured (the node names no provider, so it uses "default"); ` + configureHint},
			FixProviders, `no LLM provider named "default" is configured (the node names no provider, so it uses "default")`},
		{"named provider", NodeError{Type: ErrTypeLLMProvider, Message: `no LLM provider named "x" is configured; configure it with: trellis provider set x --kind openai|anthropic --base-url URL`},
			FixProviders, `no LLM provider named "x" is configured`},
		{"no model", NodeError{Type: ErrTypeLLMProvider, Message: `no model: set config.model on the node, or give provider "x" a default model (trellis provider set x … --model NAME)`},
			FixProviders, `no model: set config.model on the node, or give provider "x" a default model`},
		{"api key", NodeError{Type: ErrTypeSecret, Message: `the API key of provider "x" is not set: set it with: trellis secret set OPENAI --value-stdin`},
			FixSecrets, `the API key of provider "x" is not set`},
		{"http secret", NodeError{Type: ErrTypeSecret, Message: `secret "token" is not set`}, FixSecrets, `secret "token" is not set`},
		{"refused key", NodeError{Type: "LLMUnauthorized", Message: "401: bad key"}, FixSecrets, "401: bad key"},
		// Errors fixed elsewhere keep their whole message, advice and all.
		{"http status", NodeError{Type: ErrTypeHTTPStatus, Message: "HTTP 503 (trellis docs say retry)"}, "", "HTTP 503 (trellis docs say retry)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Fix(); got != tt.fix {
				t.Errorf("Fix() = %q, want %q", got, tt.fix)
			}
			if got := tt.err.Brief(); got != tt.brief {
				t.Errorf("Brief() = %q, want %q", got, tt.brief)
			}
		})
	}

	node, msg, ok := (&NodeError{Type: ErrTypeLLMProvider, Message: `node "sum \"up\"" failed: no LLM provider is configured`}).FailedNode()
	if !ok || node != `sum "up"` || msg != "no LLM provider is configured" {
		t.Errorf("FailedNode = %q, %q, %v", node, msg, ok)
	}
	for _, m := range []string{"run cancelled", `node "x" ended: y`, `node x failed: y`, ""} {
		if _, _, ok := (&NodeError{Message: m}).FailedNode(); ok {
			t.Errorf("FailedNode(%q) found a node", m)
		}
	}
	var none *NodeError
	if none.Fix() != "" || none.Brief() != "" {
		t.Error("a nil error has words")
	}
}
