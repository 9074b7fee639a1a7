-- The Storage Queue accounts' service properties (CORS, logging and metrics
-- settings: the document Set Queue Service Properties stores) when pgengine
-- serves the queues, so that every node answers with the same ones.

CREATE TABLE baton_sq_service (
	account    text PRIMARY KEY,
	properties bytea            -- the StorageServiceProperties XML document; NULL until first set
);
