-- notify_settings is the one row of how Trellis sends notifications: the SMTP server (the
-- password is the Trellis secret smtp_password_secret, never stored here), the sender, the
-- base URL that links to tasks start with, and an outbound webhook signed with the Trellis
-- secret webhook_secret.
CREATE TABLE notify_settings (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	smtp_host TEXT NOT NULL DEFAULT '',
	smtp_port INTEGER NOT NULL DEFAULT 587,
	smtp_security TEXT NOT NULL DEFAULT 'starttls' CHECK (smtp_security IN ('starttls', 'tls', 'none')),
	smtp_user TEXT NOT NULL DEFAULT '',
	smtp_password_secret TEXT NOT NULL DEFAULT '',
	mail_from TEXT NOT NULL DEFAULT '',
	base_url TEXT NOT NULL DEFAULT '',
	webhook_url TEXT NOT NULL DEFAULT '',
	webhook_secret TEXT NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL
);

-- user_notify is a user's own choice: where mail goes, which events ('created', 'escalated',
-- 'overdue', comma separated) and a daily digest instead of one mail per task.
CREATE TABLE user_notify (
	user_name TEXT PRIMARY KEY,
	email TEXT NOT NULL DEFAULT '',
	events TEXT NOT NULL DEFAULT 'created,escalated,overdue',
	digest INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
);

-- notify_deliveries is every notification to send or sent: key makes each one once (retried
-- activities write the same key). state: 'pending' (being sent, or waiting for the digest when
-- digest = 1), 'sent', 'failed'. attempts and error say how sending went.
CREATE TABLE notify_deliveries (
	id INTEGER PRIMARY KEY,
	key TEXT NOT NULL UNIQUE,
	channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
	recipient TEXT NOT NULL,
	event TEXT NOT NULL,
	task_id TEXT NOT NULL,
	title TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
	digest INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX notify_deliveries_by_state ON notify_deliveries (state, digest, recipient, created_at);
CREATE INDEX notify_deliveries_by_time ON notify_deliveries (created_at);
