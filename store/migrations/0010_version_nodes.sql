-- run_node_rollup is what each node of a run of a published version did, written with the run's
-- end report (run_rollup), for the per-node figures of the Versions tab: failures, p95
-- duration and cost. started_at is the run's start (the report's window); failed is 1 for a
-- node that failed or completed on its error port; duration_ms is NULL for a node without
-- both times, cost NULL without a priced llm usage.
CREATE TABLE run_node_rollup (
	run_id TEXT NOT NULL,
	node_id TEXT NOT NULL,
	graph_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	started_at INTEGER NOT NULL,
	failed INTEGER NOT NULL,
	duration_ms INTEGER,
	cost REAL,
	PRIMARY KEY (run_id, node_id)
);

-- In group order, so that sums per version and node need no sort.
CREATE INDEX run_node_rollup_by_node ON run_node_rollup (graph_id, version, node_id, started_at, failed, duration_ms, cost);
CREATE INDEX run_node_rollup_by_duration ON run_node_rollup (graph_id, version, node_id, duration_ms, started_at) WHERE duration_ms IS NOT NULL;

-- run_rollup in group order (version, status), so that a window's sums need no sort.
CREATE INDEX run_rollup_by_version ON run_rollup (graph_id, version, status, started_at, tokens, cost);
