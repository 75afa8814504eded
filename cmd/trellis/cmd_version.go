package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.0".
var version = "dev"

func runVersion(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("version")
	if err := parseCommand(fs, args, stdout, "version"); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("version: takes no arguments")
	}
	fmt.Fprintf(stdout, "trellis %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
