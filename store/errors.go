package store

import (
	"errors"
	"fmt"
	"os"
)

// Sentinel errors. Every error from this package that matches one of them (errors.Is) carries
// a message that is safe to show to a user as is: err.Error() never holds internal details.
// Errors that match none of them are internal (I/O, SQL) and belong in the log.
var (
	ErrNotFound       = errors.New("not found")
	ErrConflict       = errors.New("conflict")
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrInvalid        = errors.New("invalid")
	ErrDataDirLocked  = errors.New("data dir is locked")
)

// appError is an error of a known kind with a message written for users. It unwraps to its
// sentinel so callers branch with errors.Is, while its text reads as one plain sentence.
type appError struct {
	kind error
	msg  string
}

func (e *appError) Error() string { return e.msg }
func (e *appError) Unwrap() error { return e.kind }

func notFoundf(format string, args ...any) error {
	return &appError{kind: ErrNotFound, msg: fmt.Sprintf(format, args...)}
}

func conflictf(format string, args ...any) error {
	return &appError{kind: ErrConflict, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error {
	return &appError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
}

// unwrapPathError drops the *PathError wrapper, whose text repeats the path the caller's
// message already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
