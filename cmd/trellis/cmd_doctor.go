package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"trellis/actions"
	"trellis/engine"
	"trellis/store"
)

const doctorSynopsis = "doctor --temporal-address HOST:PORT [--data DIR] [--repair] [Temporal flags]"

// doctorDialTimeout bounds the wait for the Temporal frontend: doctor runs beside a serve
// that is up, so a frontend that does not answer is an address to fix, not to wait for.
const doctorDialTimeout = 30 * time.Second

// errDoctorProblems is doctor's exit 1: it found problems and did not repair them all.
var errDoctorProblems = errors.New("doctor")

// runDoctor checks that the inbox agrees with the runs (actions.Doctor), printing one line
// per finding and a summary, and with --repair makes the store follow the runs. It runs
// while serve runs: the store through the data dir, the runs through serve's Temporal.
func runDoctor(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var tf temporalFlags
	fls := newFlagSet("doctor")
	data := fls.String("data", defaultDataDir, "serve's data directory")
	repair := fls.Bool("repair", false, "fix what is found: close stale tasks as cancelled, store missing tasks again")
	tf.register(fls, false)
	if err := parseCommand(fls, args, stdout, doctorSynopsis); err != nil {
		return err
	}
	if fls.NArg() != 0 {
		return usagef("doctor: takes no arguments; usage: trellis %s", doctorSynopsis)
	}
	if tf.address == "" {
		return usagef("doctor needs --temporal-address: the Temporal frontend serve uses (serve prints \"Temporal server (embedded) listening on HOST:PORT\"; give serve --temporal-listen for a fixed one), or your cluster's address as serve was given it")
	}
	if err := tf.check(); err != nil {
		return usagef("doctor: %v", err)
	}
	tc, err := dialDoctor(ctx, &tf, *data)
	if err != nil {
		return err
	}
	defer tc.Close()
	eng := engine.New(tc, engine.Options{Namespace: tf.namespace})
	return withStore(ctx, "doctor", *data, func(db *store.DB) error {
		rep, err := actions.Doctor(ctx, db, eng, *repair)
		if err != nil {
			return err
		}
		for _, f := range rep.Findings {
			fmt.Fprintln(stdout, f.String())
		}
		fmt.Fprintln(stdout, rep.Summary())
		switch n := rep.Unrepaired(); {
		case n > 0 && *repair:
			return fmt.Errorf("%w: %d problems could not be repaired", errDoctorProblems, n)
		case n > 0:
			return fmt.Errorf("%w: %d problems found; run 'trellis doctor --repair' to fix them", errDoctorProblems, n)
		}
		return nil
	})
}

// dialDoctor connects to Temporal as serve does. Without TLS or an API key the frontend is
// taken to be serve's embedded one, which wants the credential derived from the data dir's
// decision key (as 'trellis temporal key' prints it).
func dialDoctor(ctx context.Context, tf *temporalFlags, dataDir string) (client.Client, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts, err := tf.clientOptions(quiet)
	if err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	if !tf.secured() {
		key, err := readDecisionKey(dataDir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("doctor: %s has no %s: give --data serve's data dir (or --temporal-api-key-file / --temporal-tls-* for a cluster of your own)", dataDir, DecisionKeyFile)
		case err != nil:
			return nil, fmt.Errorf("doctor: %w", err)
		}
		opts = engine.WithFrontendToken(opts, engine.FrontendToken(key))
	}
	dctx, cancel := context.WithTimeout(ctx, doctorDialTimeout)
	defer cancel()
	tc, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, fmt.Errorf("doctor: connect to Temporal at %s (is serve running, and is this its frontend?): %w", tf.address, err)
	}
	return tc, nil
}
