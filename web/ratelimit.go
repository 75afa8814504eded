package web

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Login limits: after loginMaxFailures failed sign-ins for one user name from one address
// within loginWindow, further attempts for that pair are refused until the window ends; after
// loginIPMaxFailures failures from one address, whatever the names, that address is refused
// too, so that varying the name does not dodge the limit. At most loginConcurrent bcrypt
// comparisons run at once (one per two cores): a flood of sign-ins then waits, or is told to
// come back, instead of taking every core from the rest of the server.
const (
	loginMaxFailures   = 5
	loginIPMaxFailures = 30
	loginWindow        = 15 * time.Minute
	loginMaxKeys       = 10000
	// loginQueueWait is how long a sign-in waits for a free bcrypt slot before a 429.
	loginQueueWait = 3 * time.Second
)

// loginSlots bounds the concurrent password checks: a buffered channel used as a semaphore.
type loginSlots chan struct{}

func newLoginSlots() loginSlots {
	return make(loginSlots, max(1, runtime.GOMAXPROCS(0)/2))
}

// acquire takes a slot, waiting at most wait or until ctx ends; it reports whether it got one.
func (s loginSlots) acquire(ctx context.Context, wait time.Duration) bool {
	select {
	case s <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s loginSlots) release() { <-s }

// loginLimiter counts failed sign-ins per key (user name and client address). Its memory is
// bounded: when full, expired entries go first, then the oldest.
type loginLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	max     int
	ipMax   int
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
		now: now, max: loginMaxFailures, ipMax: loginIPMaxFailures, window: loginWindow, cap: loginMaxKeys,
		entries: map[string]*loginFailures{},
	}
}

// ipKey is the key of all failures from one address; name keys hold a NUL, so none collides.
func ipKey(ip string) string { return "ip " + ip }

// allowed reports whether key may try to sign in now.
func (l *loginLimiter) allowed(key string) bool {
	return l.allowedMax(key, l.max)
}

// allowedIP reports whether the address ip may try to sign in now, whatever the name.
func (l *loginLimiter) allowedIP(ip string) bool {
	return l.allowedMax(ipKey(ip), l.ipMax)
}

func (l *loginLimiter) allowedMax(key string, limit int) bool {
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
	return f.count < limit
}

// failIP records a failed sign-in for key and for the address ip.
func (l *loginLimiter) failIP(key, ip string) {
	l.fail(key)
	l.fail(ipKey(ip))
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

// reset forgets key's failures after a successful sign-in. The address's count stays: one
// account's right password must not buy more guesses at other names.
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
