package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// minWorkerTokenLength keeps guessable tokens out: a token opens every secret.
const minWorkerTokenLength = 32

// loadWorkerTokens reads serve's --worker-token-file: one token a line, blank lines and
// # comments ignored (two lines let a new token replace an old one without downtime). A
// missing file is created (mode 0600) with a new token; created says so.
func loadWorkerTokens(path string) (tokens []string, created bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, false, err
		}
		token := base64.RawURLEncoding.EncodeToString(b)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create --worker-token-file: %w", err)
		}
		_, werr := fmt.Fprintf(f, "# trellis worker token: give this file to each 'trellis worker --worker-token-file'\n%s\n", token)
		if err := errors.Join(werr, f.Close()); err != nil {
			return nil, false, fmt.Errorf("write --worker-token-file: %w", err)
		}
		return []string{token}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read --worker-token-file: %w", err)
	}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < minWorkerTokenLength {
			return nil, false, fmt.Errorf("--worker-token-file %s: the token on line %d is shorter than %d characters; delete the file and serve writes a new one", path, i+1, minWorkerTokenLength)
		}
		tokens = append(tokens, line)
	}
	if len(tokens) == 0 {
		return nil, false, fmt.Errorf("--worker-token-file %s holds no token; delete it and serve writes a new one", path)
	}
	return tokens, false, nil
}

// readWorkerToken reads a worker's --worker-token-file: its first token (a copy of serve's
// file works as it is).
func readWorkerToken(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read --worker-token-file: %w", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
	return "", fmt.Errorf("--worker-token-file %s holds no token: copy the file serve's --worker-token-file names", path)
}
