-- Service Bus queues, topics and subscriptions whose state lives only here
-- (internal/pgbroker): every node serves them directly and concurrently from these tables
-- (multi-active); no broker holds them in memory. They are apart from
-- baton_entity and baton_message, which the one active node's broker owns.
-- Lock expiry, scheduled times and TTL are timestamps from the nodes'
-- clocks (keep them NTP-synced); a lock is held while locked_until is ahead.

CREATE TABLE baton_sb_entities (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key          text NOT NULL UNIQUE,      -- the case-folded name ("<topic>/subscriptions/<sub>" for a subscription)
	kind         smallint NOT NULL,         -- 1 queue, 2 topic, 3 subscription
	topic        bigint REFERENCES baton_sb_entities (id) ON DELETE CASCADE, -- a subscription's topic
	def          bytea NOT NULL,            -- the definition (rules included): pgstore's def blob
	next_seq     bigint NOT NULL DEFAULT 1, -- the next sequence number (gap-free: taken under this row's lock)
	-- What the statements need of the definition, copied from def.
	lock_ms      bigint NOT NULL,           -- LockDuration
	max_delivery integer NOT NULL,          -- MaxDeliveryCount
	dlq_expired  boolean NOT NULL,          -- DeadLetteringOnMessageExpiration
	forwards     boolean NOT NULL DEFAULT false -- ForwardTo or ForwardDeadLetteredMessagesTo is set
);
CREATE INDEX baton_sb_entities_topic ON baton_sb_entities (topic) WHERE topic IS NOT NULL;

CREATE TABLE baton_sb_messages (
	entity         bigint NOT NULL REFERENCES baton_sb_entities (id) ON DELETE CASCADE,
	seq            bigint NOT NULL,
	state          smallint NOT NULL,       -- 0 active, 1 deferred (dl_reason set: deferred in the dead-letter sub-queue), 2 scheduled, 3 dead-lettered
	session_id     bytea,                   -- NULL: none
	-- Active and dead-lettered: locked while locked_until is ahead, by
	-- lock_token. Scheduled: locked_until is the activation time.
	lock_token     uuid,
	locked_until   timestamptz NOT NULL,
	delivery_count integer NOT NULL,        -- failed deliveries so far
	-- Dead-lettered: why (NULL: not dead-lettered). Set in SQL when a
	-- receive finds a lapsed lock past MaxDeliveryCount; the reader adds
	-- them to the application properties, as the broker does.
	dl_reason      bytea,
	dl_desc        bytea,
	expires_at     timestamptz,             -- NULL: never
	hdr            bytea NOT NULL,          -- pgstore's header blob (fixed at enqueue)
	upd            bytea NOT NULL,          -- pgstore's update blob (properties, dead-letter fields)
	body           bytea,                   -- NULL: the topic's shared body (body_topic, topic_seq)
	topic_seq      bigint,                  -- a subscription's copy: the topic's sequence number
	body_topic     bigint,                  -- set when the body is the topic's shared one
	PRIMARY KEY (entity, seq)
) WITH (fillfactor = 80);

-- Receive from a queue without sessions and from a dead-letter sub-queue:
-- the unlocked messages, in order (a claim never walks past the locked
-- ones; lapsed locks are cleared first).
CREATE INDEX baton_sb_messages_free ON baton_sb_messages (entity, state, seq) WHERE lock_token IS NULL;
-- Receive of a session.
CREATE INDEX baton_sb_messages_session ON baton_sb_messages (entity, session_id, seq) WHERE session_id IS NOT NULL;
-- Settlement and renewal by lock token.
CREATE UNIQUE INDEX baton_sb_messages_token ON baton_sb_messages (lock_token) WHERE lock_token IS NOT NULL;
-- Lapsed locks of an entity.
CREATE INDEX baton_sb_messages_locked ON baton_sb_messages (entity, locked_until) WHERE lock_token IS NOT NULL;
-- Which copies still use a shared body (its garbage collection).
CREATE INDEX baton_sb_messages_body ON baton_sb_messages (body_topic, topic_seq) WHERE body_topic IS NOT NULL;
-- Scheduled activation and the TTL sweep.
CREATE INDEX baton_sb_messages_scheduled ON baton_sb_messages (locked_until) WHERE state = 2;
CREATE INDEX baton_sb_messages_expiry ON baton_sb_messages (expires_at) WHERE expires_at IS NOT NULL AND state <> 3;

-- A topic message's body, stored once for every subscription's copy that
-- a rule action did not change; deleted by the lease holder when no copy
-- refers to it any more.
CREATE TABLE baton_sb_bodies (
	topic bigint NOT NULL REFERENCES baton_sb_entities (id) ON DELETE CASCADE,
	seq   bigint NOT NULL,
	body  bytea NOT NULL,
	PRIMARY KEY (topic, seq)
);

CREATE TABLE baton_sb_sessions (
	entity       bigint NOT NULL REFERENCES baton_sb_entities (id) ON DELETE CASCADE,
	session_id   bytea NOT NULL,
	state        bytea,                     -- the session state; NULL: none
	lock_token   uuid,
	locked_until timestamptz,               -- held while ahead
	updated_at   timestamptz NOT NULL,      -- last change of state
	PRIMARY KEY (entity, session_id)
);

-- Duplicate detection: a message id is a duplicate until expires_at.
CREATE TABLE baton_sb_dedup (
	entity     bigint NOT NULL REFERENCES baton_sb_entities (id) ON DELETE CASCADE,
	message_id bytea NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (entity, message_id)
);
CREATE INDEX baton_sb_dedup_expiry ON baton_sb_dedup (expires_at);
