-- Service Bus queues whose state lives only here (internal/pgbroker): every
-- node serves them directly and concurrently from these tables
-- (multi-active); no broker holds them in memory. They are apart from
-- baton_entity and baton_message, which the one active node's broker owns.
-- Lock expiry, scheduled times and TTL are timestamps from the nodes'
-- clocks (keep them NTP-synced); a lock is held while locked_until is ahead.

CREATE TABLE baton_sb_entities (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key          text NOT NULL UNIQUE,      -- the case-folded name
	def          bytea NOT NULL,            -- the definition: pgstore's def blob
	next_seq     bigint NOT NULL DEFAULT 1, -- the next sequence number (gap-free: taken under this row's lock)
	-- What the statements need of the definition, copied from def.
	lock_ms      bigint NOT NULL,           -- LockDuration
	max_delivery integer NOT NULL,          -- MaxDeliveryCount
	dlq_expired  boolean NOT NULL           -- DeadLetteringOnMessageExpiration
);

CREATE TABLE baton_sb_messages (
	entity         bigint NOT NULL REFERENCES baton_sb_entities (id) ON DELETE CASCADE,
	seq            bigint NOT NULL,
	state          smallint NOT NULL,       -- 0 active, 1 deferred, 2 scheduled, 3 dead-lettered
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
	body           bytea NOT NULL,
	PRIMARY KEY (entity, seq)
) WITH (fillfactor = 80);

-- Receive and peek of a queue and its dead-letter sub-queue, in order.
CREATE INDEX baton_sb_messages_state ON baton_sb_messages (entity, state, seq);
-- Receive of a session.
CREATE INDEX baton_sb_messages_session ON baton_sb_messages (entity, session_id, seq) WHERE session_id IS NOT NULL;
-- Settlement and renewal by lock token.
CREATE UNIQUE INDEX baton_sb_messages_token ON baton_sb_messages (lock_token) WHERE lock_token IS NOT NULL;
-- Scheduled activation and the TTL sweep.
CREATE INDEX baton_sb_messages_scheduled ON baton_sb_messages (locked_until) WHERE state = 2;
CREATE INDEX baton_sb_messages_expiry ON baton_sb_messages (expires_at) WHERE expires_at IS NOT NULL AND state <> 3;

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
