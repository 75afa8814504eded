package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"trellis/store"
)

const userAddSynopsis = "user add NAME --role ROLE[,ROLE] [--group G[,G]] [--password-stdin] [--data DIR]"

// runUserAdd creates or updates a user. The password comes only from stdin, so it never
// shows in the process list or shell history.
func runUserAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("user add")
	data := fs.String("data", defaultDataDir, "data directory")
	roles := fs.String("role", "", "comma-separated roles: "+strings.Join(store.Roles, ", "))
	groups := fs.String("group", "", "comma-separated groups (reviewer tasks can be assigned to a group)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin (required for a new user; without it an existing user keeps theirs)")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, userAddSynopsis)
		}
		return err
	}
	if fs.NArg() != 1 {
		return usagef("user add: want one user name, got %d arguments; usage: trellis %s", fs.NArg(), userAddSynopsis)
	}
	name := fs.Arg(0)
	if err := store.ValidateUserName(name); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	roleList := splitList(*roles)
	if len(roleList) == 0 {
		return usagef("user add: --role is required (%s)", strings.Join(store.Roles, ", "))
	}
	for _, r := range roleList {
		if !store.ValidRole(r) {
			return usagef("user add: unknown role %q (use %s)", r, strings.Join(store.Roles, ", "))
		}
	}
	groupList := splitList(*groups)
	for _, g := range groupList {
		if err := store.ValidateGroupName(g); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
	}
	var password string
	if *pwStdin {
		pw, err := readFirstLine(stdin)
		if err != nil {
			return fmt.Errorf("user add: read password from stdin: %w", err)
		}
		if pw == "" {
			return usagef("user add: --password-stdin was given but stdin holds no password")
		}
		password = pw
	}

	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	if password == "" {
		if _, err := db.UserByName(ctx, name); errors.Is(err, store.ErrNotFound) {
			return usagef("user add: %s is a new user and needs a password: pass it on stdin with --password-stdin", name)
		} else if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
	}
	u, created, err := db.UpsertUser(ctx, store.UserInput{Name: name, Password: password, Roles: roleList, Groups: groupList})
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	line := fmt.Sprintf("%s user %s (%s)", verb, u.Name, strings.Join(u.Roles, ", "))
	if len(u.Groups) > 0 {
		line += " in groups " + strings.Join(u.Groups, ", ")
	}
	fmt.Fprintln(stdout, line)
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// readFirstLine reads up to the first newline, without it (and without a '\r' before it).
func readFirstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), nil
}
