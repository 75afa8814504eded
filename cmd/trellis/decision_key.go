package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"trellis/engine"
)

// DecisionKeyFile is the file in the data dir with the key that signs decisions, so workers
// know serve checked the reviewer (engine/decision_proof.go).
const DecisionKeyFile = "decision.key"

// loadDecisionKey reads the data dir's decision key, writing a new random one (0600) when
// it is missing.
func loadDecisionKey(dataDir string) ([]byte, error) {
	key, err := readDecisionKey(dataDir)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, engine.DecisionKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("decision key: %w", err)
	}
	path := filepath.Join(dataDir, DecisionKeyFile)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write decision key %s: %w", path, err)
	}
	return key, nil
}

// readDecisionKey reads the data dir's decision key and checks its size; a missing file is
// an error that wraps fs.ErrNotExist, for each caller to explain in its own words.
func readDecisionKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, DecisionKeyFile)
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read decision key %s: %w", path, err)
	}
	if len(key) != engine.DecisionKeySize {
		return nil, fmt.Errorf("decision key %s holds %d bytes, want %d: remove it to make a new one", path, len(key), engine.DecisionKeySize)
	}
	return key, nil
}

// keyedWorkerSource hands remote workers the decision key with the hello, so that they
// check decisions as serve's own worker does (the internal API already trusts them with
// secrets), and the embedded frontend's credential when serve runs it.
type keyedWorkerSource struct {
	workerSource
	key           []byte
	temporalToken string
}

func (k keyedWorkerSource) DecisionKey() []byte { return k.key }

func (k keyedWorkerSource) TemporalToken() string { return k.temporalToken }
