-- Baton pgstore schema, version 1. The broker holds the authoritative state
-- in memory; these tables make it durable and give it back at start.
-- Blobs (hdr, upd, def) use pgstore's own binary layout
-- (docs/format/pgstore.md); the plain columns beside them are for people
-- and tools reading the tables.

-- One row per entity (queue, topic, subscription, storage queue).
CREATE TABLE baton_entity (
	key      text PRIMARY KEY,          -- the case-folded entity key
	name     text NOT NULL,             -- as the user spelled it
	kind     smallint NOT NULL,         -- 1 queue, 2 topic, 3 subscription, 4 storage queue
	def      bytea NOT NULL,            -- the whole definition
	last_seq bigint NOT NULL DEFAULT 0  -- highest sequence number ever enqueued
) WITH (fillfactor = 70);

-- One row per stored message (a topic's rows are the bodies its
-- subscriptions' copies share; a copy's body is NULL).
CREATE TABLE baton_message (
	entity         text NOT NULL,
	seq            bigint NOT NULL,
	state          integer NOT NULL,    -- 0 active, 1 deferred, 2 scheduled
	dead_lettered  boolean NOT NULL,
	delivery_count integer NOT NULL,
	hdr            bytea NOT NULL,      -- fields fixed at enqueue
	upd            bytea NOT NULL,      -- fields settlements change
	body           bytea,
	wb             bigint NOT NULL,     -- the write batch that enqueued it
	PRIMARY KEY (entity, seq)
) WITH (fillfactor = 90);

-- Removed messages whose rows are kept for a short grace, so that a body
-- read right after its removal (receive-and-delete) still finds it. One
-- row per write batch; the rows it lists that were enqueued before that
-- batch (wb < batch) are deleted when the grace ends, or at the next start.
CREATE TABLE baton_removed (
	batch    bigint PRIMARY KEY,
	at_ns    bigint NOT NULL,           -- broker time of the removal
	entities text[] NOT NULL,
	seqs     bigint[] NOT NULL
);

-- Session states.
CREATE TABLE baton_session (
	entity     text NOT NULL,
	id         bytea NOT NULL,          -- the session id's bytes
	state      bytea NOT NULL,
	updated_ns bigint NOT NULL,         -- Unix nanoseconds
	PRIMARY KEY (entity, id)
);

-- Duplicate-detection entries: a message id is remembered until until_ns
-- (Unix nanoseconds), even after its message is gone.
CREATE TABLE baton_dedup (
	entity     text NOT NULL,
	message_id bytea NOT NULL,
	until_ns   bigint NOT NULL,
	PRIMARY KEY (entity, message_id)
);
CREATE INDEX baton_dedup_until ON baton_dedup (until_ns);

-- The node that owns the store. Starting a node increments epoch; every
-- write batch first checks, holding a share lock on this row, that the
-- epoch is still its own, so a node that was replaced can never write
-- again (a fencing token).
CREATE TABLE baton_owner (
	id    integer PRIMARY KEY CHECK (id = 1),
	epoch bigint NOT NULL,
	node  text NOT NULL,
	since timestamptz NOT NULL
);
INSERT INTO baton_owner (id, epoch, node, since) VALUES (1, 0, '', now());

CREATE FUNCTION baton_fence(mine bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	cur bigint;
	who text;
BEGIN
	SELECT epoch, node INTO cur, who FROM baton_owner WHERE id = 1 FOR SHARE;
	IF cur IS DISTINCT FROM mine THEN
		RAISE EXCEPTION 'baton: this node (epoch %) no longer owns the store: node % (epoch %) took it over', mine, who, cur
			USING ERRCODE = 'BT001';
	END IF;
END
$$;
