package main

import (
	"trellis/actions"
	"trellis/engine"
	"trellis/store"
)

// What schedules and webhooks are handed, checked when this package compiles.
var (
	_ engine.ScheduleResolver = (*actions.Triggers)(nil)
	_ actions.TriggerStore    = (*store.DB)(nil)
)
