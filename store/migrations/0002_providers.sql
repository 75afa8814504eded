-- providers are the LLM endpoints that llm nodes name. The API key is not stored here:
-- api_key_secret names a row of secrets. Times are Unix nanoseconds (UTC).
CREATE TABLE providers (
	name TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic')),
	base_url TEXT NOT NULL,
	model TEXT NOT NULL DEFAULT '',
	api_key_secret TEXT NOT NULL DEFAULT '',
	timeout_seconds INTEGER NOT NULL CHECK (timeout_seconds > 0),
	concurrency INTEGER NOT NULL CHECK (concurrency > 0),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- provider_prices are what a provider charges per million tokens of a model, in the
-- operator's currency; they turn a node's token usage into its cost.
CREATE TABLE provider_prices (
	provider TEXT NOT NULL REFERENCES providers (name) ON DELETE CASCADE,
	model TEXT NOT NULL,
	prompt_per_mtok REAL NOT NULL CHECK (prompt_per_mtok >= 0),
	completion_per_mtok REAL NOT NULL CHECK (completion_per_mtok >= 0),
	PRIMARY KEY (provider, model)
) WITHOUT ROWID;
