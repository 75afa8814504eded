// Command trellis runs the Trellis web app and worker and administers its data dir.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"trellis/store"
)

// bcryptCost is the password hashing cost of the admin commands; zero is the store's
// default. Tests lower it.
var bcryptCost int

const usage = `Usage: trellis <command> [arguments] [flags]

Commands:
  serve          run the web UI, the API and a Temporal worker
  worker         run only a Temporal worker
  user add       create or update a user (also: user list, user disable, user enable, user delete)
  token create   print a new API token for a user (also: token list, token revoke)
  secret set     store an encrypted secret
  provider set   configure an LLM provider for llm nodes (also: provider list, provider delete)
  mcp set        configure an MCP server for agents' mcp tools (also: mcp list, mcp rm)
  notify set     set how people are told of their tasks: the mail server, an outbound webhook
  temporal key   print the credential of serve's embedded Temporal server (for the temporal CLI)
  doctor         check that the inbox agrees with the runs; --repair fixes what it finds
  version        print the version
  help           print this help

Run 'trellis <command> -h' for a command's flags. Every flag also reads the
environment variable TRELLIS_<FLAG>, e.g. --data reads TRELLIS_DATA.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is a subcommand: it gets the arguments after its name.
type command func(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error

// subcommands maps "user" to its subcommands and so on.
var subcommands = map[string]map[string]command{
	"user":     {"add": runUserAdd, "list": runUserList, "disable": runUserDisable, "enable": runUserEnable, "delete": runUserDelete},
	"token":    {"create": runTokenCreate, "list": runTokenList, "revoke": runTokenRevoke},
	"secret":   {"set": runSecretSet},
	"provider": {"set": runProviderSet, "list": runProviderList, "delete": runProviderDelete},
	"mcp":      {"set": runMCPSet, "list": runMCPList, "rm": runMCPRm},
	"temporal": {"key": runTemporalKey},
}

// run executes one command line and returns the exit code: 0, 1 when the command failed,
// 2 when it was called wrongly. Errors are one line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "worker":
		err = runWorker(ctx, args[1:], stdout, stderr)
	case "version":
		err = runVersion(ctx, args[1:], stdin, stdout)
	case "doctor":
		err = runDoctor(ctx, args[1:], stdin, stdout)
	default:
		subs, ok := subcommands[name]
		switch {
		case strings.HasPrefix(name, "-"):
			err = usagef("unknown flag %q; run 'trellis help'", name)
		case !ok:
			err = usagef("unknown command %q; run 'trellis help'", name)
		case len(args) < 2 || strings.HasPrefix(args[1], "-"):
			err = usagef("%q needs a subcommand (%s); run 'trellis help'", name, strings.Join(subNames(subs), ", "))
		case subs[args[1]] == nil:
			err = usagef("unknown command %q; run 'trellis help'", name+" "+args[1])
		default:
			err = subs[args[1]](ctx, args[2:], stdin, stdout)
		}
	}
	return report(err, stderr)
}

func subNames(subs map[string]command) []string {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// report prints err as one line and maps it to an exit code.
func report(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "trellis: %s\n", oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, store.ErrInvalid) {
		return 2
	}
	return 1
}

// oneLine folds a multi-line error (errors.Join) onto one line.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}

// openStore opens the store in the data dir. It does not take the data dir lock, so these
// commands work while serve runs.
func openStore(ctx context.Context, dir string) (*store.DB, error) {
	return store.OpenDataDir(ctx, dir, store.Options{BcryptCost: bcryptCost})
}

// defaultDataDir is where --data points unless told otherwise.
const defaultDataDir = "./data"
