package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"trellis/engine"
)

const temporalKeySynopsis = "temporal key [--data DIR]"

// runTemporalKey prints the credential of serve's embedded Temporal frontend, for the
// temporal CLI (--api-key, with TLS off) or any other client of the embedded server.
func runTemporalKey(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fls := newFlagSet("temporal key")
	data := fls.String("data", defaultDataDir, "data directory")
	if err := parseCommand(fls, args, stdout, temporalKeySynopsis); err != nil {
		return err
	}
	if fls.NArg() != 0 {
		return usagef("temporal key: takes no arguments; usage: trellis %s", temporalKeySynopsis)
	}
	key, err := readDecisionKey(*data)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("temporal key: %s has no %s yet; start 'trellis serve --data %s' once", *data, DecisionKeyFile, *data)
	}
	if err != nil {
		return fmt.Errorf("temporal key: %w", err)
	}
	fmt.Fprintln(stdout, engine.FrontendToken(key))
	return nil
}
