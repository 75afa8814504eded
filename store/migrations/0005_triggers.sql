-- hooks start runs of a graph from outside: POST /hooks/{id} with the run input. The secret
-- that signs deliveries is a Trellis secret (secret_name), never stored here. auth is how a
-- delivery proves itself: 'hmac' (X-Trellis-Signature) or 'bearer'. version 0 means the latest
-- version that is not retired. Times are Unix nanoseconds (UTC); disabled_at NULL is enabled.
CREATE TABLE hooks (
	id TEXT PRIMARY KEY,
	graph_id TEXT NOT NULL,
	name TEXT NOT NULL,
	auth TEXT NOT NULL CHECK (auth IN ('hmac', 'bearer')),
	version INTEGER NOT NULL DEFAULT 0,
	secret_name TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	rotated_at INTEGER,
	disabled_at INTEGER
);
CREATE INDEX hooks_by_graph ON hooks (graph_id, created_at);

-- hook_deliveries is what each delivery got: its HTTP status and the run it started. Only the
-- newest deliveries of a hook are kept (PruneDeliveries).
CREATE TABLE hook_deliveries (
	id INTEGER PRIMARY KEY,
	hook_id TEXT NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	status INTEGER NOT NULL,
	run_id TEXT NOT NULL DEFAULT '',
	message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hook_deliveries_by_hook ON hook_deliveries (hook_id, at);

-- hook_keys remembers Idempotency-Key headers for a day: a retried delivery gets the run
-- the first one started. run_id is '' while the first delivery is still starting its run.
CREATE TABLE hook_keys (
	hook_id TEXT NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
	key TEXT NOT NULL,
	run_id TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	PRIMARY KEY (hook_id, key)
);
CREATE INDEX hook_keys_by_age ON hook_keys (created_at);

-- schedules index the Temporal schedules that start runs of a graph: Temporal holds the
-- spec and the state (paused, next times, recent actions); this table lists a graph's
-- schedules and keeps what was asked, so pages show it as written.
CREATE TABLE schedules (
	id TEXT PRIMARY KEY,
	graph_id TEXT NOT NULL,
	spec BLOB NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX schedules_by_graph ON schedules (graph_id, created_at);
