package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"trellis/actions"
	"trellis/engine"
	"trellis/enginestore"
	"trellis/store"
)

const doctorSynopsis = "doctor --temporal-address HOST:PORT [--data DIR] [--repair] [Temporal flags]"

// doctorDialTimeout bounds the wait for the Temporal frontend: doctor runs beside a serve
// that is up, so a frontend that does not answer is an address to fix, not to wait for.
const doctorDialTimeout = 30 * time.Second

// doctorRollupPage is how many open rows of the version rollup doctor reads at a time.
const doctorRollupPage = 500

// rollupSchedule is when serve reconciles the version rollup in the background (the zero
// value: engine's defaults); tests make it quick.
var rollupSchedule engine.RollupSchedule

// errDoctorProblems is doctor's exit 1: it found problems and did not repair them all.
var errDoctorProblems = errors.New("doctor")

// runDoctor checks that the inbox agrees with the runs (actions.Doctor) and that the
// version rollup holds open only runs that are (engine.ReconcileRollup), printing one line
// per finding and a summary, and with --repair makes the store follow the runs. It runs
// while serve runs: the store through the data dir, the runs through serve's Temporal.
func runDoctor(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	var tf temporalFlags
	fls := newFlagSet("doctor")
	data := fls.String("data", defaultDataDir, "serve's data directory")
	repair := fls.Bool("repair", false, "fix what is found: close stale tasks as cancelled, store missing tasks again, record in the version rollup the end of runs that ended without reporting it")
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
		// The version rollup: runs it holds open that ended without reporting their end.
		// And runs of published versions from before the rollup, which it does not have.
		var rr rollupReport
		if rr.checked, rr.ended, err = eng.ReconcileRollup(ctx, enginestore.Tasks{DB: db}, doctorRollupPage, *repair); err != nil {
			return err
		}
		if rr.missing, err = eng.BackfillRollup(ctx, enginestore.Tasks{DB: db}, time.Now().Add(-engine.RollupBackfillGrace), 0, *repair); err != nil {
			return err
		}
		for _, f := range rep.Findings {
			fmt.Fprintln(stdout, f.String())
		}
		for _, f := range rr.ended {
			fmt.Fprintln(stdout, f.String())
		}
		for _, m := range rr.missing {
			fmt.Fprintln(stdout, m.String())
		}
		fmt.Fprintln(stdout, doctorSummary(rep, rr))
		switch n := rep.Unrepaired() + rr.unrepaired(); {
		case n > 0 && *repair:
			return fmt.Errorf("%w: %d problems could not be repaired", errDoctorProblems, n)
		case n > 0:
			return fmt.Errorf("%w: %d problems found; run 'trellis doctor --repair' to fix them", errDoctorProblems, n)
		}
		return nil
	})
}

// rollupReport is what doctor found in the version rollup.
type rollupReport struct {
	checked int // open rows looked at
	ended   []engine.RollupFinding
	missing []engine.RollupMissing
}

func (r rollupReport) problems() int { return len(r.ended) + len(r.missing) }

func (r rollupReport) unrepaired() int {
	n := 0
	for _, f := range r.ended {
		if !f.Repaired {
			n++
		}
	}
	for _, m := range r.missing {
		if !m.Repaired {
			n++
		}
	}
	return n
}

// summary is the rollup's part of doctor's last line when it has problems.
func (r rollupReport) summary() string {
	var parts []string
	if n := len(r.ended); n > 0 {
		verb := "have"
		if n == 1 {
			verb = "has"
		}
		parts = append(parts, fmt.Sprintf("%s the version rollup holds open %s ended without reporting it", countOf(n, "run"), verb))
	}
	if n := len(r.missing); n == 1 {
		parts = append(parts, "1 run from before the version rollup is not in it")
	} else if n > 1 {
		parts = append(parts, fmt.Sprintf("%d runs from before the version rollup are not in it", n))
	}
	s := fmt.Sprintf("%s (%s checked)", strings.Join(parts, ", "), countOf(r.checked, "open run"))
	switch n := r.unrepaired(); {
	case n == 0:
		s += fmt.Sprintf("; %d repaired", r.problems())
	case n < r.problems():
		s += fmt.Sprintf("; %d repaired; %d not repaired", r.problems()-n, n)
	default:
		s += fmt.Sprintf("; %d not repaired", n)
	}
	return s
}

// doctorSummary is doctor's last line: the inbox's summary, then the version rollup's.
func doctorSummary(rep *actions.DoctorReport, rr rollupReport) string {
	if rr.problems() == 0 {
		return fmt.Sprintf("%s; the version rollup agrees with the runs (%s)", rep.Summary(), countOf(rr.checked, "open run"))
	}
	if len(rep.Findings) == 0 {
		return fmt.Sprintf("%s: %s; the inbox is healthy: %s", countOf(rr.problems(), "problem"), rr.summary(), strings.TrimPrefix(rep.Summary(), "healthy: "))
	}
	_, tasks, _ := strings.Cut(rep.Summary(), ": ")
	return fmt.Sprintf("%s: %s; and %s", countOf(len(rep.Findings)+rr.problems(), "problem"), tasks, rr.summary())
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
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
