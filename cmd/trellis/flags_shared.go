package main

import "trellis/engine"

// Flags that serve and worker both take.

// mapItemsUsage describes --max-map-items.
const mapItemsUsage = "the most items one map node may fan out; a map with more fails, naming both numbers"

// checkMaxMapItems refuses a --max-map-items outside 1 to engine.MaxMapItemsCeiling.
func checkMaxMapItems(n int) error {
	if n < 1 || n > engine.MaxMapItemsCeiling {
		return usagef("--max-map-items must be from 1 to %d, not %d", engine.MaxMapItemsCeiling, n)
	}
	return nil
}

// runCacheUsage describes --run-cache.
const runCacheUsage = "how many runs' state this process keeps in memory between their steps (about 40 KB each; with serve's embedded Temporal server, its cache of runs too, at least 1000); a run not kept is read back from its history when it next moves"

// minRunCache keeps the cache above the runs one process moves at once.
const minRunCache = 10

// checkRunCache refuses a --run-cache outside minRunCache to a million.
func checkRunCache(n int) error {
	if n < minRunCache || n > 1_000_000 {
		return usagef("--run-cache must be from %d to 1000000, not %d", minRunCache, n)
	}
	return nil
}
