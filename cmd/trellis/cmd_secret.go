package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"trellis/store"
)

const secretSetSynopsis = "secret set NAME --value-stdin [--data DIR]"

// runSecretSet stores a secret read from stdin. The value is never taken from the command
// line (process list, shell history) and never printed.
func runSecretSet(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("secret set")
	data := fs.String("data", defaultDataDir, "data directory")
	valueStdin := fs.Bool("value-stdin", false, "read the value from stdin (all of it, less one trailing newline)")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, secretSetSynopsis)
		}
		return err
	}
	if fs.NArg() != 1 {
		return usagef("secret set: want one secret name, got %d arguments; usage: trellis %s", fs.NArg(), secretSetSynopsis)
	}
	name := fs.Arg(0)
	if err := store.ValidateSecretName(name); err != nil {
		return fmt.Errorf("secret set: %w", err)
	}
	if !*valueStdin {
		return usagef("secret set: --value-stdin is required; the value is read from stdin only")
	}
	// Read one byte past the limit so an oversized value is refused, not truncated.
	raw, err := io.ReadAll(io.LimitReader(stdin, store.MaxSecretSize+3))
	if err != nil {
		return fmt.Errorf("secret set: read value from stdin: %w", err)
	}
	value := string(raw)
	if v, ok := strings.CutSuffix(value, "\r\n"); ok {
		value = v
	} else {
		value = strings.TrimSuffix(value, "\n")
	}
	if value == "" {
		return usagef("secret set: stdin holds no value")
	}
	if len(value) > store.MaxSecretSize {
		return usagef("secret set: the value is larger than %d KiB", store.MaxSecretSize>>10)
	}

	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetSecret(ctx, name, value); err != nil {
		return fmt.Errorf("secret set: %w", err)
	}
	fmt.Fprintf(stdout, "secret %s set\n", name)
	return nil
}
