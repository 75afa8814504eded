-- Versions in production (issue #15). graph_traffic is a graph's split of runs started without
-- a version; earlier builds created it on first use, hence IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS graph_traffic (
	graph_id TEXT PRIMARY KEY REFERENCES graphs (id) ON DELETE CASCADE,
	splits TEXT NOT NULL,
	sticky TEXT NOT NULL DEFAULT '',
	updated_by TEXT NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL
);

-- Task counts per version (open tasks, decisions by outcome) for the Versions tab.
CREATE INDEX IF NOT EXISTS tasks_by_graph_version ON tasks (graph_id, version, state, created_at, outcome);

-- run_rollup is one row per run of a published version, written by the run itself (a store
-- activity when it starts, when its live status or version changes, and when it ends), so
-- that the Versions tab sums rows instead of reading Temporal visibility for every run. seq
-- orders the writes of one run: a write with a lower seq than the row's changes nothing, so
-- retries and late writes never undo the end. Times are Unix nanoseconds (UTC); ended_at and
-- duration_ms are NULL while the run is open; tokens and cost NULL when the run reports none.
CREATE TABLE run_rollup (
	run_id TEXT PRIMARY KEY,
	graph_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	status TEXT NOT NULL,
	seq INTEGER NOT NULL,
	started_at INTEGER NOT NULL,
	ended_at INTEGER,
	duration_ms INTEGER,
	tokens INTEGER,
	cost REAL
);

-- Outcomes of a window: runs of a graph started since a time, by version and status.
CREATE INDEX run_rollup_by_start ON run_rollup (graph_id, started_at, version, status, tokens, cost);
-- Duration percentiles: ended runs of one version in duration order (started_at for the window).
CREATE INDEX run_rollup_by_duration ON run_rollup (graph_id, version, duration_ms, started_at) WHERE duration_ms IS NOT NULL;
-- Draining: the open runs of a graph, oldest first.
CREATE INDEX run_rollup_open ON run_rollup (graph_id, version, started_at, status, run_id) WHERE ended_at IS NULL;
