package templates

import "testing"

func TestHumanize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"snake outcome", "send_back", "Send back"},
		{"one word", "risk", "Risk"},
		{"already words", "Amount to refund", "Amount to refund"},
		{"camel case", "contractId", "Contract id"},
		{"kebab", "fraud-risk", "Fraud risk"},
		{"acronym kept", "max_URL", "Max URL"},
		{"acronym then word", "URLPath", "URL path"},
		{"digits", "step2Done", "Step2 done"},
		{"capitalised", "APPROVE", "APPROVE"},
		{"only separators", "__", "__"},
		{"non-ascii", "élan_vital", "Élan vital"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Humanize(tt.in); got != tt.want {
				t.Errorf("Humanize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
