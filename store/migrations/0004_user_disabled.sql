-- A disabled user cannot sign in and their sessions and API tokens stop working; NULL means
-- enabled. Disabling also deletes the sessions and tokens, so this flag is what keeps a token
-- made later (by the CLI) from working until the user is enabled again.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
