package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"trellis/actions"
	"trellis/designer"
	"trellis/engine"
	"trellis/enginestore"
	"trellis/store"
)

// workerDeps are the worker's activities' view of the store.
func workerDeps(db *store.DB, logger *slog.Logger) engine.Deps {
	return engine.Deps{
		Secrets:   engineSources{db},
		Versions:  engineSources{db},
		Tasks:     enginestore.NotifyingTasks{Tasks: enginestore.Tasks{DB: db}},
		Providers: engineProviders{db},
		Logger:    logger,
		// Firings of schedules pick their version through the same rules as a start by hand.
		Schedules: actions.NewTriggers(actions.New(db, db, nil, logger), db, nil),
		// Tasks created or escalated start their notifications (notification.go).
		Notifications: enginestore.Notifications{DB: db},
	}
}

// workerSource is what serve hands remote workers through the internal API: the secrets and
// providers its own worker reads, through the same adapters.
type workerSource struct {
	db                   *store.DB
	namespace, taskQueue string
}

func (w workerSource) Secret(ctx context.Context, name string) (string, error) {
	return engineSources{w.db}.Secret(ctx, name)
}

func (w workerSource) SecretHosts(ctx context.Context, name string) ([]string, error) {
	return engineSources{w.db}.SecretHosts(ctx, name)
}

func (w workerSource) Provider(ctx context.Context, name string) (*engine.ProviderConfig, error) {
	return engineProviders{w.db}.Provider(ctx, name)
}

func (w workerSource) Temporal() (string, string) { return w.namespace, w.taskQueue }

// engineSources gives the engine's activities what they read from the store, translating
// the store's not-found into the engine's sentinels so that a missing secret or version
// fails the node at once instead of being retried.
type engineSources struct{ db *store.DB }

func (s engineSources) Secret(ctx context.Context, name string) (string, error) {
	v, err := s.db.Secret(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%w: secrets.%s is not set (trellis secret set %s --value-stdin)", engine.ErrSecretNotFound, name, name)
	}
	return v, err
}

// SecretHosts are the hosts a secret is bound to (engine.SecretHostSource); nil: any host.
func (s engineSources) SecretHosts(ctx context.Context, name string) ([]string, error) {
	hosts, err := s.db.SecretHosts(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: secrets.%s is not set", engine.ErrSecretNotFound, name)
	}
	return hosts, err
}

// VersionDefinition loads a pinned version; version 0 means the latest.
func (s engineSources) VersionDefinition(ctx context.Context, graphID string, version int) (*designer.Graph, error) {
	var (
		v   *store.Version
		err error
	)
	if version == 0 {
		v, err = s.db.LatestVersion(ctx, graphID)
	} else {
		v, err = s.db.GetVersion(ctx, graphID, version)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", engine.ErrVersionNotFound, err.Error())
	}
	if err != nil {
		return nil, err
	}
	var g designer.Graph
	if err := json.Unmarshal(v.Definition, &g); err != nil {
		return nil, fmt.Errorf("decode graph %s version %d: %w", graphID, v.Version, err)
	}
	return &g, nil
}
