package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"trellis/engine"
	"trellis/enginestore"
	"trellis/store"
	"trellis/web"
)

func init() {
	subcommands["notify"] = map[string]command{"set": runNotifySet}
}

const notifySetSynopsis = "notify set [--smtp-host H] [--smtp-port N] [--smtp-security starttls|tls|none] [--smtp-user U] " +
	"[--password-stdin | --webhook-secret-stdin] [--from ADDR] [--base-url URL] [--webhook-url URL] [--data DIR]"

// runNotifySet changes the notification settings: only the flags given change. A password
// or webhook secret is read from stdin, never from the command line.
func runNotifySet(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("notify set")
	data := fs.String("data", defaultDataDir, "data directory")
	host := fs.String("smtp-host", "", "SMTP server host")
	port := fs.Int("smtp-port", 587, "SMTP server port")
	security := fs.String("smtp-security", "starttls", "starttls, tls (implicit) or none")
	user := fs.String("smtp-user", "", "SMTP user (empty: no authentication)")
	pwStdin := fs.Bool("password-stdin", false, "read the SMTP password from stdin (kept as secret "+store.SMTPPasswordSecret+")")
	hookStdin := fs.Bool("webhook-secret-stdin", false, "read the outbound webhook's signing secret from stdin")
	from := fs.String("from", "", "sender address of mails")
	baseURL := fs.String("base-url", "", "the address of Trellis that links in mails start with")
	hookURL := fs.String("webhook-url", "", "outbound webhook URL (empty: none)")
	if err := parseCommand(fs, args, stdout, notifySetSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("notify set: unexpected argument %q; usage: trellis %s", fs.Arg(0), notifySetSynopsis)
	}
	if *pwStdin && *hookStdin {
		return usagef("notify set: stdin holds one secret: give --password-stdin or --webhook-secret-stdin, not both")
	}
	var secret *string
	if *pwStdin || *hookStdin {
		raw, err := io.ReadAll(io.LimitReader(stdin, store.MaxSecretSize+3))
		if err != nil {
			return fmt.Errorf("notify set: read stdin: %w", err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
		if v == "" {
			return usagef("notify set: stdin holds no secret")
		}
		secret = &v
	}
	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := db.GetNotifySettings(ctx)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "smtp-host":
			s.SMTPHost = *host
		case "smtp-port":
			s.SMTPPort = *port
		case "smtp-security":
			s.SMTPSecurity = *security
		case "smtp-user":
			s.SMTPUser = *user
		case "from":
			s.MailFrom = *from
		case "base-url":
			s.BaseURL = *baseURL
		case "webhook-url":
			s.WebhookURL = *hookURL
		}
	})
	var pw, hook *string
	if *pwStdin {
		pw = secret
	} else if *hookStdin {
		hook = secret
	}
	if err := db.SetNotifySettings(ctx, *s, pw, hook); err != nil {
		return fmt.Errorf("notify set: %w", err)
	}
	fmt.Fprintf(stdout, "notification settings saved (smtp %s:%d %s, from %q)\n", s.SMTPHost, s.SMTPPort, s.SMTPSecurity, s.MailFrom)
	return nil
}

// notifyAdmin is what the notification pages get: the store, and a test mail sent with the
// saved settings and secrets as the worker sends mail.
type notifyAdmin struct{ *store.DB }

var _ web.NotificationAdmin = notifyAdmin{}

func (n notifyAdmin) SendTestMail(ctx context.Context, to string) error {
	s, err := enginestore.Notifications{DB: n.DB}.NotifySettings(ctx)
	if err != nil {
		return err
	}
	return engine.SendTestMail(ctx, s, to)
}
