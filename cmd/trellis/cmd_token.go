package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

const tokenCreateSynopsis = "token create NAME [--label L] [--data DIR]"

// runTokenCreate prints a new API token for a user, alone on stdout so scripts can capture it.
func runTokenCreate(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("token create")
	data := fs.String("data", defaultDataDir, "data directory")
	label := fs.String("label", "", "what the token is for, shown in the token list")
	if err := parseCommand(fs, args, stdout, tokenCreateSynopsis); err != nil {
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

const (
	tokenListSynopsis   = "token list [NAME] [--data DIR]"
	tokenRevokeSynopsis = "token revoke ID [--data DIR]"
)

// runTokenList lists API tokens (never the tokens themselves): a user's, or everyone's.
func runTokenList(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("token list")
	data := fs.String("data", defaultDataDir, "data directory")
	if err := parseCommand(fs, args, stdout, tokenListSynopsis); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("token list: want at most one user name, got %d arguments; usage: trellis %s", fs.NArg(), tokenListSynopsis)
	}
	name := fs.Arg(0)
	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	if name != "" {
		// An unknown user is an error, not an empty list.
		if _, err := db.UserByName(ctx, name); err != nil {
			return fmt.Errorf("token list: %w", err)
		}
	}
	tokens, err := db.ListTokens(ctx, name)
	if err != nil {
		return fmt.Errorf("token list: %w", err)
	}
	if len(tokens) == 0 {
		if name != "" {
			fmt.Fprintf(stdout, "%s has no API tokens\n", name)
		} else {
			fmt.Fprintln(stdout, "no API tokens")
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tLAST USED")
	for _, t := range tokens {
		last := "never"
		if !t.LastUsedAt.IsZero() {
			last = t.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.UserName, dash(t.Label), t.CreatedAt.UTC().Format(time.RFC3339), last)
	}
	return tw.Flush()
}

// runTokenRevoke deletes one API token by the ID that token list shows; it stops working at
// once, also in a running serve.
func runTokenRevoke(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("token revoke")
	data := fs.String("data", defaultDataDir, "data directory")
	if err := parseCommand(fs, args, stdout, tokenRevokeSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("token revoke: want one token ID (see trellis token list), got %d arguments; usage: trellis %s", fs.NArg(), tokenRevokeSynopsis)
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usagef("token revoke: %q is not a token ID; trellis token list shows them", fs.Arg(0))
	}
	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	tokens, err := db.ListTokens(ctx, "")
	if err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	owner := ""
	for _, t := range tokens {
		if t.ID == id {
			owner = t.UserName
		}
	}
	if err := db.RevokeToken(ctx, id); err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	fmt.Fprintf(stdout, "revoked API token %d of %s\n", id, owner)
	return nil
}
