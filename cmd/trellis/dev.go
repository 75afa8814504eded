package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"trellis/designer"
	"trellis/store"
)

// samples are the example graphs --dev loads; they are the product's own copies of the
// examples in the shared spec.
//
//go:embed samples/*.json
var samples embed.FS

// devPassword is the password of every demo user; it is printed at start.
const devPassword = "trellis-dev"

type devLogin struct{ name, password, roles string }

var devUsers = []store.UserInput{
	{Name: "admin", Roles: []string{store.RoleAdmin}},
	{Name: "analyst", Roles: []string{store.RoleAnalyst}},
	{Name: "reviewer", Roles: []string{store.RoleReviewer}, Groups: []string{"reviewers", "legal"}},
	{Name: "manager", Roles: []string{store.RoleReviewer}, Groups: []string{"managers"}},
	{Name: "developer", Roles: []string{store.RoleDeveloper}},
}

// seedDev creates demo users and publishes the sample graphs, but only on an empty data dir
// (no users yet), so that --dev never touches real data. It returns the log-ins to print.
func seedDev(ctx context.Context, db *store.DB) ([]devLogin, error) {
	users, err := db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	logins := make([]devLogin, 0, len(devUsers))
	for _, u := range devUsers {
		logins = append(logins, devLogin{name: u.Name, password: devPassword, roles: strings.Join(u.Roles, ",")})
	}
	if len(users) > 0 {
		// Not empty: keep everything as it is; the demo log-ins still work if they exist.
		return logins, nil
	}
	for _, u := range devUsers {
		u.Password = devPassword
		if _, _, err := db.UpsertUser(ctx, u); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", u.Name, err)
		}
	}
	names, err := fs.Glob(samples, "samples/*.json")
	if err != nil {
		return nil, err
	}
	// In name order, which publishes a body graph (draft-and-review) before the loop that
	// runs it (reply-until-approved), so that its "latest" resolves.
	sort.Strings(names)
	for _, name := range names {
		raw, err := samples.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if err := publishSample(ctx, db, raw); err != nil {
			return nil, fmt.Errorf("sample %s: %w", name, err)
		}
	}
	return logins, nil
}

func publishSample(ctx context.Context, db *store.DB, raw []byte) error {
	g, problems, err := designer.Parse(raw, designer.DefaultLimits)
	if err != nil {
		return err
	}
	problems = append(problems, designer.Validate(g, designer.ValidateEnv{})...)
	// Body graphs are pinned as publishing pins them: "latest" becomes a number.
	problems = append(problems, designer.ResolveSubgraphVersions(g, func(id string) (int, bool) {
		v, err := db.LatestVersion(ctx, id)
		if err != nil {
			return 0, false
		}
		return v.Version, true
	})...)
	if len(problems) > 0 {
		return fmt.Errorf("invalid: %s", problems[0].Message)
	}
	hash, err := designer.Hash(g)
	if err != nil {
		return err
	}
	if raw, err = designer.Canonical(g); err != nil {
		return err
	}
	rec, err := db.CreateGraph(ctx, g.Name, raw, "admin")
	if err != nil {
		return err
	}
	if _, err := db.PublishVersion(ctx, rec.ID, raw, hash, "Sample loaded by --dev", "admin"); err != nil {
		return err
	}
	return nil
}
