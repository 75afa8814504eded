-- Times are Unix nanoseconds (UTC). Hashes of tokens are raw SHA-256 bytes.

CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	password_hash BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE user_roles (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('analyst', 'reviewer', 'developer', 'admin')),
	PRIMARY KEY (user_id, role)
) WITHOUT ROWID;

CREATE TABLE user_groups (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	group_name TEXT NOT NULL,
	PRIMARY KEY (user_id, group_name)
) WITHOUT ROWID;

CREATE INDEX user_groups_by_group ON user_groups (group_name);

CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
	id INTEGER PRIMARY KEY,
	token_hash BLOB NOT NULL UNIQUE,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	label TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	last_used_at INTEGER
);

CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- secrets hold AES-256-GCM ciphertext; the secret's name is the additional data.
CREATE TABLE secrets (
	name TEXT PRIMARY KEY,
	nonce BLOB NOT NULL,
	ciphertext BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE graphs (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	draft BLOB NOT NULL,
	draft_hash TEXT NOT NULL DEFAULT '',
	draft_revision INTEGER NOT NULL,
	draft_updated_at INTEGER NOT NULL,
	draft_updated_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT NOT NULL
);

CREATE INDEX graphs_by_update ON graphs (updated_at);

CREATE TABLE graph_versions (
	graph_id TEXT NOT NULL REFERENCES graphs (id) ON DELETE CASCADE,
	version INTEGER NOT NULL CHECK (version > 0),
	note TEXT NOT NULL,
	author TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	hash TEXT NOT NULL,
	retired INTEGER NOT NULL DEFAULT 0,
	definition BLOB NOT NULL,
	PRIMARY KEY (graph_id, version)
);

-- A published version never changes; only its retired flag may.
CREATE TRIGGER graph_versions_immutable
BEFORE UPDATE OF graph_id, version, note, author, created_at, hash, definition ON graph_versions
BEGIN
	SELECT RAISE(ABORT, 'graph versions are immutable');
END;
