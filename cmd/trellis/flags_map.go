package main

import "trellis/engine"

// mapItemsUsage describes --max-map-items, which serve and worker both take.
const mapItemsUsage = "the most items one map node may fan out; a map with more fails, naming both numbers"

// checkMaxMapItems refuses a --max-map-items outside 1 to engine.MaxMapItemsCeiling.
func checkMaxMapItems(n int) error {
	if n < 1 || n > engine.MaxMapItemsCeiling {
		return usagef("--max-map-items must be from 1 to %d, not %d", engine.MaxMapItemsCeiling, n)
	}
	return nil
}
