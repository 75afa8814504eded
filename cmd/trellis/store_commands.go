package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"trellis/store"
)

// withStore opens the store of data dir dir for one command, runs f on it and closes it; an
// error of f is prefixed with the command's name.
func withStore(ctx context.Context, cmd, dir string, f func(db *store.DB) error) error {
	db, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := f(db); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}

// listFlags parses the flags of a command that takes --data and no arguments, such as the
// list commands, and returns the data dir.
func listFlags(cmd, synopsis string, args []string, stdout io.Writer) (string, error) {
	fs := newFlagSet(cmd)
	data := fs.String("data", defaultDataDir, "data directory")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, synopsis)
		}
		return "", err
	}
	if fs.NArg() != 0 {
		return "", usagef("%s: takes no arguments", cmd)
	}
	return *data, nil
}
