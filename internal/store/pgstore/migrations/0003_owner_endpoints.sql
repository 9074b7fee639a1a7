-- Active/standby: the owner publishes where its faces can be reached, so
-- that standby nodes forward their clients' connections to it. A JSON
-- object, face name → host:port ({"amqp": "10.0.0.5:5672", "mgmt": …});
-- NULL while no owner has published (an owner clears it when it takes a
-- new epoch, and again when it stops).
ALTER TABLE baton_owner ADD COLUMN endpoints jsonb;
