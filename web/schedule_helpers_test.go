package web

import (
	"context"
	"fmt"

	"trellis/engine"
)

// engineWithoutRuns has no schedules either: every one it is asked about is not found.

func (engineWithoutRuns) CreateSchedule(context.Context, engine.Schedule) error {
	return fmt.Errorf("no schedules in this test: %w", engine.ErrBadSchedule)
}

func (engineWithoutRuns) UpdateSchedule(_ context.Context, s engine.Schedule) error {
	return fmt.Errorf("schedule %s: %w", s.ID, engine.ErrScheduleNotFound)
}

func (engineWithoutRuns) DescribeSchedule(_ context.Context, id string) (*engine.ScheduleState, error) {
	return nil, fmt.Errorf("schedule %s: %w", id, engine.ErrScheduleNotFound)
}

func (engineWithoutRuns) PauseSchedule(_ context.Context, id string, _ bool, _ string) error {
	return fmt.Errorf("schedule %s: %w", id, engine.ErrScheduleNotFound)
}

func (engineWithoutRuns) TriggerSchedule(_ context.Context, id string) error {
	return fmt.Errorf("schedule %s: %w", id, engine.ErrScheduleNotFound)
}

func (engineWithoutRuns) DeleteSchedule(_ context.Context, id string) error {
	return fmt.Errorf("schedule %s: %w", id, engine.ErrScheduleNotFound)
}
