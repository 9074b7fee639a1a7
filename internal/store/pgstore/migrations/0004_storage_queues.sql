-- Storage queues whose state lives only here (internal/httpapi/queuestorage/
-- pgengine): every node serves them directly and concurrently from these
-- tables (multi-active); no broker holds them in memory. They are apart from
-- baton_entity and baton_message, which the one active node's broker owns.
-- Visibility and expiry are predicates on the timestamps, which come from
-- the nodes' clocks (keep them NTP-synced).

CREATE TABLE baton_sq_queues (
	key         text PRIMARY KEY,          -- the case-folded "<account>/<queue>"
	name        text NOT NULL,             -- as created
	meta_keys   bytea[] NOT NULL,          -- metadata names, sorted (reserved ones such as "$acl" included)
	meta_values bytea[] NOT NULL,          -- their values (any bytes a header may carry)
	created_at  timestamptz NOT NULL
);

CREATE TABLE baton_sq_messages (
	queue         text NOT NULL REFERENCES baton_sq_queues (key) ON DELETE CASCADE,
	id            uuid NOT NULL,
	seq           bigint GENERATED ALWAYS AS IDENTITY, -- insertion order, the tie-break after visible_at
	body          bytea NOT NULL,           -- the message text as the face stores it
	inserted_at   timestamptz NOT NULL,
	expires_at    timestamptz,              -- NULL: never
	visible_at    timestamptz NOT NULL,
	dequeue_count integer NOT NULL,
	receipt       bytea NOT NULL,           -- the current pop receipt, 16 bytes
	PRIMARY KEY (queue, id)
) WITH (fillfactor = 80);

-- Get and Peek: the first visible messages of a queue in (visible_at, seq);
-- with expires_at included, the approximate count is an index-only scan.
CREATE INDEX baton_sq_messages_visible ON baton_sq_messages (queue, visible_at, seq) INCLUDE (expires_at);
-- The expiry sweep.
CREATE INDEX baton_sq_messages_expiry ON baton_sq_messages (expires_at) WHERE expires_at IS NOT NULL;

-- Leases: which node runs a piece of shared maintenance (the expiry sweep).
-- A holder renews its row before expires_at (the database's clock); a
-- node takes a lapsed row over with term + 1. Releasing sets expires_at to
-- -infinity and keeps the term, so terms only grow.
CREATE TABLE baton_leases (
	name       text PRIMARY KEY,
	holder     text NOT NULL,
	term       bigint NOT NULL,
	expires_at timestamptz NOT NULL
);
