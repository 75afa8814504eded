package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

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
	if err := parseCommand(fs, args, stdout, synopsis); err != nil {
		return "", err
	}
	if fs.NArg() != 0 {
		return "", usagef("%s: takes no arguments", cmd)
	}
	return *data, nil
}

// table is what a list command prints: the rows of a store list under a header, or empty
// when there are none.
type table[T any] struct {
	fetch  func(db *store.DB, ctx context.Context) ([]T, error)
	empty  string
	header string
	row    func(T) string
}

// runList runs a list command: no arguments, one line per row, tab-aligned.
func runList[T any](ctx context.Context, cmd, synopsis string, args []string, stdout io.Writer, t table[T]) error {
	dir, err := listFlags(cmd, synopsis, args, stdout)
	if err != nil {
		return err
	}
	return withStore(ctx, cmd, dir, func(db *store.DB) error {
		rows, err := t.fetch(db, ctx)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			fmt.Fprintln(stdout, t.empty)
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, t.header)
		for _, r := range rows {
			fmt.Fprintln(tw, t.row(r))
		}
		return tw.Flush()
	})
}
