package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"trellis/store"
)

const secretSetSynopsis = "secret set NAME [--value-stdin] [--hosts HOST,…|*] [--data DIR]"

// runSecretSet stores a secret read from stdin. The value is never taken from the command
// line (process list, shell history) and never printed.
func runSecretSet(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("secret set")
	data := fs.String("data", defaultDataDir, "data directory")
	valueStdin := fs.Bool("value-stdin", false, "read the value from stdin (all of it, less one trailing newline)")
	hostsFlag := fs.String("hosts", "", "bind the secret to these hosts (names, addresses, *.domain); * lets it go anywhere; left out, the hosts stay as they are")
	if err := parseCommand(fs, args, stdout, secretSetSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("secret set: want one secret name, got %d arguments; usage: trellis %s", fs.NArg(), secretSetSynopsis)
	}
	name := fs.Arg(0)
	if err := store.ValidateSecretName(name); err != nil {
		return fmt.Errorf("secret set: %w", err)
	}
	hostsGiven := flagGiven(fs, "hosts")
	var hosts []string
	if hostsGiven && strings.TrimSpace(*hostsFlag) != "*" {
		var err error
		if hosts, err = store.NormalizeSecretHosts(strings.Split(*hostsFlag, ",")); err != nil {
			return usagef("secret set: --hosts: %v", err)
		}
		if len(hosts) == 0 {
			return usagef("secret set: --hosts names no host; give * to let the secret go to any host")
		}
	}
	if !*valueStdin {
		if !hostsGiven {
			return usagef("secret set: --value-stdin is required; the value is read from stdin only")
		}
		return setSecretHosts(ctx, *data, name, hosts, stdout)
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
	if hostsGiven {
		return setHostsOn(ctx, db, name, hosts, stdout)
	}
	return nil
}

// setSecretHosts changes only the hosts of a secret that is set.
func setSecretHosts(ctx context.Context, data, name string, hosts []string, stdout io.Writer) error {
	db, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer db.Close()
	return setHostsOn(ctx, db, name, hosts, stdout)
}

func setHostsOn(ctx context.Context, db *store.DB, name string, hosts []string, stdout io.Writer) error {
	if err := db.SetSecretHosts(ctx, name, hosts); err != nil {
		return fmt.Errorf("secret set: %w", err)
	}
	if len(hosts) == 0 {
		fmt.Fprintf(stdout, "secret %s may be sent to any host\n", name)
	} else {
		fmt.Fprintf(stdout, "secret %s may be sent only to %s\n", name, strings.Join(hosts, ", "))
	}
	return nil
}
