package main

import (
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The compose file in docs/deploy.md cannot be run here (no Docker), but its trellis
// commands can be held to the real flag parsers: a renamed or removed flag, or a required
// one missing, fails this test instead of a reader's first deployment.
func TestDeployDocCommandsParse(t *testing.T) {
	raw, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(raw), "```yaml\n")
	if !ok {
		t.Fatal("docs/deploy.md has no yaml block")
	}
	block, _, _ = strings.Cut(block, "```")
	cmds := composeCommands(block)
	if len(cmds) != 2 {
		t.Fatalf("want the serve and the worker command in the compose file, found %q", cmds)
	}
	for _, args := range cmds {
		var err error
		switch args[0] {
		case "serve":
			_, _, err = parseServeFlags(args[1:], io.Discard)
		case "worker":
			// A cancelled context: past its flags, the worker stops at reading its token
			// file or reaching serve, neither of which is a usage error.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err = runWorker(ctx, args[1:], io.Discard, io.Discard)
			var ue *usageError
			if !errors.As(err, &ue) {
				err = nil
			}
		default:
			t.Errorf("unknown trellis command %q", args)
			continue
		}
		if err != nil {
			t.Errorf("trellis %s: %v", strings.Join(args, " "), err)
		}
	}
}

var yamlKey = regexp.MustCompile(`^\s*[A-Za-z_][\w-]*:`)

// composeCommands are the command: values of a compose file, each one's continuation lines
// joined and its comments dropped.
func composeCommands(yaml string) [][]string {
	var out [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(yaml, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "command:"); ok {
			if in {
				out = append(out, cur)
			}
			cur, in = strings.Fields(rest), true
			continue
		}
		if in && (yamlKey.MatchString(line) || strings.TrimSpace(line) == "") {
			out, cur, in = append(out, cur), nil, false
		}
		if in {
			cur = append(cur, strings.Fields(line)...)
		}
	}
	if in {
		out = append(out, cur)
	}
	return out
}
