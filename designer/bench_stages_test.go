package designer

import (
	"encoding/json"
	"testing"
)

// BenchmarkStages2000 times each stage alone, to see where the time goes.
func BenchmarkStages2000(b *testing.B) {
	data, _ := json.Marshal(bigGraph(2000))
	g, _, _ := Parse(data, DefaultLimits)
	b.Run("parse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Parse(data, DefaultLimits)
		}
	})
	b.Run("validate", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Validate(g, ValidateEnv{})
		}
	})
	b.Run("hash", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Hash(g)
		}
	})
}
