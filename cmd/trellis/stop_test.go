package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A part that hangs on its way down no longer keeps an interrupted serve from ending.
func TestStopWithinGoesOnWhenAPartHangs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	release := make(chan struct{})
	defer close(release)
	stopWithin(logger, "stuck part", 20*time.Millisecond, func() { <-release })
	if !strings.Contains(buf.String(), "still stopping") || !strings.Contains(buf.String(), "stuck part") {
		t.Fatalf("log = %q, want a warning naming the part", buf.String())
	}

	buf.Reset()
	ran := false
	stopWithin(logger, "quick part", time.Hour, func() { ran = true })
	if !ran || buf.Len() != 0 {
		t.Fatalf("a part that stops in time: ran %v, log %q", ran, buf.String())
	}
}
