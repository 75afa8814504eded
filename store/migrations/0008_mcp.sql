-- mcp_servers are the MCP servers agents' mcp tools call (streamable HTTP). The bearer token
-- is not stored here: header_secret names a row of secrets ('' for none). Times are Unix
-- nanoseconds (UTC).
CREATE TABLE mcp_servers (
	name TEXT PRIMARY KEY,
	url TEXT NOT NULL,
	header_secret TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
