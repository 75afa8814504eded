package web

import (
	"sync"
	"time"
)

// Login limits: after loginMaxFailures failed sign-ins for one user name from one address
// within loginWindow, further attempts for that pair are refused until the window ends.
const (
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
	loginMaxKeys     = 10000
)

// loginLimiter counts failed sign-ins per key (user name and client address). Its memory is
// bounded: when full, expired entries go first, then the oldest.
type loginLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	max     int
	window  time.Duration
	cap     int
	entries map[string]*loginFailures
}

type loginFailures struct {
	count int
	first time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{
		now: now, max: loginMaxFailures, window: loginWindow, cap: loginMaxKeys,
		entries: map[string]*loginFailures{},
	}
}

// allowed reports whether key may try to sign in now.
func (l *loginLimiter) allowed(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.entries[key]
	if !ok {
		return true
	}
	if l.now().Sub(f.first) >= l.window {
		delete(l.entries, key)
		return true
	}
	return f.count < l.max
}

// fail records a failed sign-in for key.
func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if f, ok := l.entries[key]; ok && now.Sub(f.first) < l.window {
		f.count++
		return
	}
	if len(l.entries) >= l.cap {
		l.evict(now)
	}
	l.entries[key] = &loginFailures{count: 1, first: now}
}

// reset forgets key's failures after a successful sign-in.
func (l *loginLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// evict makes room for one entry: all expired ones, or else the oldest.
func (l *loginLimiter) evict(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, f := range l.entries {
		if now.Sub(f.first) >= l.window {
			delete(l.entries, k)
			continue
		}
		if oldestKey == "" || f.first.Before(oldest) {
			oldestKey, oldest = k, f.first
		}
	}
	if len(l.entries) >= l.cap && oldestKey != "" {
		delete(l.entries, oldestKey)
	}
}

// size is the number of tracked keys (for tests).
func (l *loginLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
