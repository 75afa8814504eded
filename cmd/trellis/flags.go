package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is a mistake in how a command was called; run exits 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagSet is the flag set every command parses with parseFlags.
type flagSet = flag.FlagSet

// newFlagSet returns a flag set that reports errors instead of exiting and prints nothing
// itself, so that each command fails with one line of our own.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// envName is the environment variable a flag falls back to: --temporal-address reads
// TRELLIS_TEMPORAL_ADDRESS.
func envName(flagName string) string {
	return "TRELLIS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs, allowing flags before and after positional arguments
// (`user add alice --role analyst`); afterwards fs.Args() holds the positionals. "--" ends the
// flags. Every flag not given on the command line then takes TRELLIS_<FLAG> from env when that
// is not empty. It returns flag.ErrHelp for -h and a *usageError for anything else wrong.
func parseFlags(fs *flag.FlagSet, args []string, env func(string) string) error {
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return flagError(fs.Name(), err)
		}
		remaining := fs.Args()
		consumed := len(rest) - len(remaining)
		if len(remaining) == 0 {
			break
		}
		if consumed > 0 && rest[consumed-1] == "--" {
			positional = append(positional, remaining...)
			break
		}
		positional = append(positional, remaining[0])
		rest = remaining[1:]
	}
	// Parse again with only the positionals so fs.Args() returns all of them; values already
	// set stay set.
	if err := fs.Parse(append([]string{"--"}, positional...)); err != nil {
		return flagError(fs.Name(), err)
	}

	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || onCommandLine[f.Name] {
			return
		}
		name := envName(f.Name)
		v := env(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = usagef("%s: invalid value in %s: %v", fs.Name(), name, err)
		}
	})
	return envErr
}

// flagError rewrites the flag package's messages to name flags the way the docs do (--data).
func flagError(cmd string, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return flag.ErrHelp
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return usagef("%s: unknown flag --%s; run 'trellis %s -h'", cmd, strings.TrimLeft(name, "-"), cmd)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return usagef("%s: flag --%s needs a value", cmd, strings.TrimLeft(name, "-"))
	}
	msg = strings.Replace(msg, "for flag -", "for --", 1)
	msg = strings.Replace(msg, "value for -", "value for --", 1)
	return usagef("%s: %s", cmd, msg)
}

// printUsage writes a command's synopsis and its flags, each with its environment variable.
// parseCommand is parseFlags over the environment, printing the command's usage to w for -h.
func parseCommand(fs *flag.FlagSet, args []string, w io.Writer, synopsis string) error {
	err := parseFlags(fs, args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(w, fs, synopsis)
	}
	return err
}

func printUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "Usage: trellis %s\n\nFlags:\n", synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  --%s\n    \t%s", f.Name, f.Usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, " [%s]\n", envName(f.Name))
	})
}

// flagGiven says whether the command line set the flag name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
