package main

import (
	"context"
	"errors"
	"io"
)

// runServe is being written by the lead; this placeholder keeps the package compiling.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("serve: not wired yet")
}

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("worker: not wired yet")
}
