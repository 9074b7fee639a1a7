-- The fence no longer locks the baton_owner row (a row lock is a write: a
-- WAL record in every batch). A batch holds a shared transaction-level
-- advisory lock instead, taken in memory only; a node taking the store
-- over takes the same lock exclusively around its epoch update, so it
-- waits for the batches in flight, and every later batch reads the new
-- epoch. (The UPDATE of last_seq went out of the send path at the same
-- time: Load takes the highest sequence number of the rows themselves,
-- and last_seq is brought up to date when rows are finally deleted.)
CREATE OR REPLACE FUNCTION baton_fence(mine bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	cur bigint;
	who text;
BEGIN
	PERFORM pg_advisory_xact_lock_shared(hashtextextended('baton:fence:' || current_schema(), 0));
	SELECT epoch, node INTO cur, who FROM baton_owner WHERE id = 1;
	IF cur IS DISTINCT FROM mine THEN
		RAISE EXCEPTION 'baton: this node (epoch %) no longer owns the store: node % (epoch %) took it over', mine, who, cur
			USING ERRCODE = 'BT001';
	END IF;
END
$$;
