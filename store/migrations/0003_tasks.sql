-- tasks are the human steps of approval nodes: one per (run, node), created by the workflow
-- and closed by it. Times are Unix nanoseconds (UTC); due_at is NULL for a task without due.
-- assignee is 'user:NAME' or 'group:NAME'; claimed_by and decided_by are user names, '' when
-- nobody (decided_by is 'system' for a decision made by the due rule).
CREATE TABLE tasks (
	id INTEGER PRIMARY KEY,
	run_id TEXT NOT NULL,
	node_id TEXT NOT NULL,
	graph_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	title TEXT NOT NULL,
	instructions TEXT NOT NULL DEFAULT '',
	assignee TEXT NOT NULL,
	form BLOB,
	outcomes TEXT NOT NULL,
	context BLOB NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'done', 'cancelled')),
	due_at INTEGER,
	created_at INTEGER NOT NULL,
	claimed_by TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT '',
	data BLOB,
	comment TEXT NOT NULL DEFAULT '',
	decided_by TEXT NOT NULL DEFAULT '',
	decided_at INTEGER,
	UNIQUE (run_id, node_id)
);

-- The inbox reads tasks by one key (assignee, claimer or decider) newest first, paging on
-- (created_at, id). Each index covers the filters too (graph, due, claim), so a page never
-- touches the table until it fetches its rows.
CREATE INDEX tasks_by_assignee ON tasks (state, assignee, created_at, id, claimed_by, graph_id, due_at);
CREATE INDEX tasks_by_claimer ON tasks (state, claimed_by, created_at, id, graph_id, due_at);
CREATE INDEX tasks_by_decider ON tasks (state, decided_by, created_at, id, graph_id, due_at);

-- task_events is a task's history. from_assignee/to_assignee are set for 'escalated', outcome
-- for 'decided' and 'auto_decided', due_at for 'created' and 'escalated'.
CREATE TABLE task_events (
	id INTEGER PRIMARY KEY,
	task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('created', 'claimed', 'unclaimed', 'escalated', 'decided', 'auto_decided', 'cancelled')),
	actor TEXT NOT NULL DEFAULT '',
	from_assignee TEXT NOT NULL DEFAULT '',
	to_assignee TEXT NOT NULL DEFAULT '',
	due_at INTEGER,
	outcome TEXT NOT NULL DEFAULT ''
);

CREATE INDEX task_events_by_task ON task_events (task_id, id);
