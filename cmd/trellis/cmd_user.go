package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	if err := parseCommand(fs, args, stdout, userAddSynopsis); err != nil {
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

const (
	userListSynopsis    = "user list [--data DIR]"
	userDisableSynopsis = "user disable NAME [--data DIR]"
	userEnableSynopsis  = "user enable NAME [--data DIR]"
	userDeleteSynopsis  = "user delete NAME --yes [--data DIR]"
)

// userArgs parses the flags of a command that takes one user name and returns the data dir
// and the name. extra adds flags before parsing.
func userArgs(cmd, synopsis string, args []string, stdout io.Writer, extra func(*flag.FlagSet)) (dir, name string, err error) {
	fs := newFlagSet(cmd)
	data := fs.String("data", defaultDataDir, "data directory")
	if extra != nil {
		extra(fs)
	}
	if err := parseCommand(fs, args, stdout, synopsis); err != nil {
		return "", "", err
	}
	if fs.NArg() != 1 {
		return "", "", usagef("%s: want one user name, got %d arguments; usage: trellis %s", cmd, fs.NArg(), synopsis)
	}
	name = fs.Arg(0)
	if err := store.ValidateUserName(name); err != nil {
		return "", "", fmt.Errorf("%s: %w", cmd, err)
	}
	return *data, name, nil
}

// runUserList prints every user with roles, groups and whether they are disabled.
func runUserList(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	return runList(ctx, "user list", userListSynopsis, args, stdout, table[store.User]{
		fetch:  (*store.DB).ListUsers,
		empty:  "no users; add one with: trellis user add NAME --role admin --password-stdin",
		header: "NAME\tROLES\tGROUPS\tSTATUS",
		row: func(u store.User) string {
			status := "enabled"
			if u.Disabled() {
				status = "disabled"
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s", u.Name, dash(strings.Join(u.Roles, ",")), dash(strings.Join(u.Groups, ",")), status)
		},
	})
}

// runUserDisable disables a user: no sign-in, sessions ended and API tokens revoked at once.
func runUserDisable(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	dir, name, err := userArgs("user disable", userDisableSynopsis, args, stdout, nil)
	if err != nil {
		return err
	}
	return withStore(ctx, "user disable", dir, func(db *store.DB) error {
		ended, err := db.DisableUser(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled user %s: %s ended, %s revoked\n", name, plural(ended.Sessions, "session"), plural(ended.Tokens, "API token"))
		return nil
	})
}

// runUserEnable lets a disabled user sign in again; revoked tokens stay revoked.
func runUserEnable(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	dir, name, err := userArgs("user enable", userEnableSynopsis, args, stdout, nil)
	if err != nil {
		return err
	}
	return withStore(ctx, "user enable", dir, func(db *store.DB) error {
		if err := db.EnableUser(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "enabled user %s\n", name)
		return nil
	})
}

// runUserDelete deletes a user with their sessions and tokens. It cannot be undone, so it
// wants --yes.
func runUserDelete(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	var yes *bool
	dir, name, err := userArgs("user delete", userDeleteSynopsis, args, stdout, func(fs *flag.FlagSet) {
		yes = fs.Bool("yes", false, "confirm: deleting a user cannot be undone (user disable keeps the account)")
	})
	if err != nil {
		return err
	}
	if !*yes {
		return usagef("user delete: deleting %s cannot be undone; pass --yes to confirm, or use trellis user disable", name)
	}
	return withStore(ctx, "user delete", dir, func(db *store.DB) error {
		if err := db.DeleteUser(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted user %s\n", name)
		return nil
	})
}

// plural writes "1 session" or "2 sessions".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
