package engine

import "regexp"

// NewRunID returns a new id for a run of a version, for a caller that needs the id before
// the run starts (StartRunRequest.RunID): a canary split hashes it to pick the version.
func NewRunID() (string, error) { return newRunID("run-") }

var runIDPattern = regexp.MustCompile(`^run-[0-9a-f]{20}$`)

func validRunID(id string) bool { return runIDPattern.MatchString(id) }
