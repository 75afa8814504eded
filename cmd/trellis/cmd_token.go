package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const tokenCreateSynopsis = "token create NAME [--label L] [--data DIR]"

// runTokenCreate prints a new API token for a user, alone on stdout so scripts can capture it.
func runTokenCreate(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("token create")
	data := fs.String("data", defaultDataDir, "data directory")
	label := fs.String("label", "", "what the token is for, shown in the token list")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, tokenCreateSynopsis)
		}
		return err
	}
	if fs.NArg() != 1 {
		return usagef("token create: want one user name, got %d arguments; usage: trellis %s", fs.NArg(), tokenCreateSynopsis)
	}
	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := db.CreateToken(ctx, fs.Arg(0), *label)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	fmt.Fprintln(stdout, token)
	return nil
}
