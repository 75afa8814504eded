//go:build unix

package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFileName is the file in the data dir that serve and worker hold locked while running.
const LockFileName = "trellis.lock"

// AcquireDataDir creates dir when missing and takes an exclusive lock on dir/trellis.lock so
// that only one trellis process at a time runs on it. The lock is a flock(2), which the kernel
// drops when the process dies, so a crash never leaves the dir locked. A second holder gets an
// error matching ErrDataDirLocked that names the holder's pid.
func AcquireDataDir(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s is not writable: %w", dir, unwrapPathError(err))
	}
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir %s is not writable: %w", dir, unwrapPathError(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another trellis process"
			if pid := readPid(f); pid > 0 {
				holder = fmt.Sprintf("another trellis process (pid %d)", pid)
			}
			return nil, &appError{kind: ErrDataDirLocked, msg: fmt.Sprintf("data dir %s is in use by %s", dir, holder)}
		}
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	if err := writePid(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	var released bool
	return func() error {
		if released {
			return nil
		}
		released = true
		// Closing the file drops the flock; the file stays so that its inode (which the lock
		// is on) is never replaced under a process that is about to lock it.
		if err := f.Truncate(0); err != nil {
			f.Close()
			return fmt.Errorf("release data dir %s: %w", dir, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("release data dir %s: %w", dir, err)
		}
		return nil
	}, nil
}

func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

func readPid(f *os.File) int {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}
