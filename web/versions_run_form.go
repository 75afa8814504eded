package web

import (
	"context"
	"fmt"
	"strings"
)

// runFormVersion reads the version of the start form: "split" (or nothing) follows the
// graph's traffic split, a number names a version.
func runFormVersion(text string) (asked int, split bool, err error) {
	if t := strings.TrimSpace(text); t == "" || t == "split" {
		return 0, true, nil
	}
	asked, err = parseGraphVersion(text)
	return asked, false, err
}

// splitText says in a few words where runs started without a version go.
func (s *Server) splitText(ctx context.Context, graphID string) string {
	t, err := s.actions.Traffic(ctx, graphID)
	if err != nil || t == nil || len(t.Splits) == 0 {
		return "none set: the latest version"
	}
	parts := make([]string, 0, len(t.Splits))
	for _, sp := range t.Splits {
		if sp.Percent > 0 {
			parts = append(parts, fmt.Sprintf("v%d %d %%", sp.Version, sp.Percent))
		}
	}
	text := strings.Join(parts, ", ")
	if t.Sticky != "" {
		text += ", sticky"
	}
	return text
}
