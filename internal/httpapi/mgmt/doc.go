// Package mgmt is Baton's JSON management API, served on :8088 beside the
// console, and the typed Client the CLI uses to call it. The API is Baton's
// own: SDK-compatible faces live in the other httpapi packages.
//
// # Endpoints
//
//	GET    /healthz                                   200 "ok"
//	GET    /readyz                                    200 "ready", or 503 while Config.Ready says no
//	GET    /api/v1/stats                              StoreStats: the store's log counters (syncs, records) for benchmarks
//	GET    /api/v1/queues                             {"queues":[Queue...]}
//	PUT    /api/v1/queues/{name}                      create from QueueProperties → 201 Queue
//	GET    /api/v1/queues/{name}                      Queue (properties and counts)
//	PATCH  /api/v1/queues/{name}                      merge the given QueueProperties over the current ones → Queue
//	DELETE /api/v1/queues/{name}                      204
//	POST   /api/v1/queues/{name}/messages             SendRequest → 201 {"sequenceNumbers":[...]}
//	GET    /api/v1/queues/{name}/messages             peek: ?from=1&max=10&dlq=true&sessionId=S → {"messages":[...]}
//	POST   /api/v1/queues/{name}/receive              ReceiveRequest → {"messages":[...]}
//	POST   /api/v1/queues/{name}/settle               SettleRequest → 204
//	POST   /api/v1/queues/{name}/renew                RenewRequest → {"lockedUntil":[...]}
//	POST   /api/v1/queues/{name}/deferred             DeferredRequest → {"messages":[...]}
//	POST   /api/v1/queues/{name}/cancel-scheduled     {"sequenceNumbers":[...]} → 204
//	POST   /api/v1/queues/{name}/dlq/resubmit         {"max":100} → {"resubmitted":n,"skipped":m}
//	GET    /api/v1/queues/{name}/sessions             ?skip=&top=&updatedSince=RFC3339 → {"sessions":[...]}
//	POST   /api/v1/queues/{name}/sessions/accept      {"sessionId":"","wait":"1s"} → SessionLock
//	POST   /api/v1/queues/{name}/sessions/{id}/renew  {"lockToken"} → SessionLock
//	POST   /api/v1/queues/{name}/sessions/{id}/release {"lockToken"} → 204
//	GET    /api/v1/queues/{name}/sessions/{id}/state  ?lockToken= → SessionState
//	PUT    /api/v1/queues/{name}/sessions/{id}/state  {"lockToken","state"|"stateBase64"} → 204
//
//	GET    /api/v1/topics                             {"topics":[Topic...]}
//	PUT    /api/v1/topics/{name}                      create from TopicProperties → 201 Topic
//	GET    /api/v1/topics/{name}                      Topic (properties, subscription count)
//	PATCH  /api/v1/topics/{name}                      merge TopicProperties → Topic
//	DELETE /api/v1/topics/{name}                      204; its subscriptions go with it
//	POST   /api/v1/topics/{name}/messages             SendRequest → 201 (copies go to the matching subscriptions)
//	POST   /api/v1/topics/{name}/cancel-scheduled     {"sequenceNumbers":[...]} → 204
//	GET    /api/v1/topics/{name}/subscriptions        {"subscriptions":[Subscription...]}
//	PUT    /api/v1/topics/{name}/subscriptions/{sub}  SubscriptionProperties (+ defaultRule) → 201 Subscription
//	GET    /api/v1/topics/{name}/subscriptions/{sub}  Subscription (properties and counts)
//	PATCH  /api/v1/topics/{name}/subscriptions/{sub}  merge SubscriptionProperties → Subscription
//	DELETE /api/v1/topics/{name}/subscriptions/{sub}  204
//	GET    .../subscriptions/{sub}/rules              {"rules":[Rule...]} in the order they were added
//	PUT    .../subscriptions/{sub}/rules/{rule}       Rule → 201 Rule; with If-Match: * replaces it → 200
//	GET    .../subscriptions/{sub}/rules/{rule}       Rule
//	DELETE .../subscriptions/{sub}/rules/{rule}       204
//	.../subscriptions/{sub}/messages (GET), receive, settle, renew, deferred, dlq/resubmit, sessions/...
//	                                                  as for a queue
//
// A subscription's messages are also reached as a queue's, under its entity
// path: /api/v1/queues/{topic}%2FSubscriptions%2F{sub}/receive and so on
// (the CLI's `baton receive topic/Subscriptions/sub`). Sending to a
// subscription is refused (send to its topic); dlq/resubmit of a
// subscription puts the messages back into that subscription only.
//
// A rule is {"name","filter":{"type",...},"action":{"sqlExpression","parameters"}}
// (see RuleFilter). A filter or action that does not compile is refused
// with 400 InvalidArgument, and the message names the rule, the line,
// column and offset, and the token, for example:
//
//	rule "r": SqlFilter: filter: syntax error at line 1, column 19 (offset 18) near "AND": ...
//
// POST, PUT and PATCH requests must send Content-Type: application/json
// (also with an empty body): a web page cannot send that cross-site without
// a CORS preflight, which this API never grants, so a page open in the
// developer's browser cannot drive the local server.
//
// Queue names may contain '/'; a client escapes it as %2F inside the {name}
// segment (Client does). Names are checked with broker.ValidateEntityName on
// every request, so a name can never reach a dead-letter sub-queue by
// spelling "$DeadLetterQueue": the sub-queue is chosen with dlq=true.
//
// Durations are accepted in Go syntax ("30s", "1h30m") and in ISO 8601 as
// Service Bus writes them ("PT30S", "P1D"); a duration longer than Go can
// hold (such as Service Bus's TimeSpan.MaxValue, "P10675199DT2H48M5.4775807S")
// means "never". Durations are returned in Go syntax; "never" is
// broker.MaxDuration, 2562047h47m16.854775807s.
//
// # Errors
//
// Every error has one shape, {"error":{"code":"NotFound","message":"..."}},
// where code is the broker.Code's name. The status comes from one table
// (statusOf):
//
//	NotFound               404   entity not found
//	EntityExists           409
//	LockLost               410   the lock is gone for good: expired, settled, unknown
//	SessionLockLost        410
//	SessionCannotBeLocked  409   another receiver holds the session
//	MessageNotFound        404   no such deferred/scheduled sequence number
//	MessageTooLarge        413
//	QuotaExceeded          403
//	EntityDisabled         403
//	InvalidArgument        400   also malformed JSON, unknown fields, bad durations, bad lock tokens
//	NotImplemented         501
//	StoreUnavailable       503   retry later; nothing was changed
//	Closed                 503   the server is shutting down
//	Timeout                408   nothing became available before the wait ended (accept session)
//	Unknown                500
//
// Errors produced by this package itself use the same shape: RequestTooLarge
// (413) for a request body over Config.MaxRequestBytes, NotFound (404) and
// MethodNotAllowed (405) for unknown routes, UnsupportedMediaType (415) for a
// POST, PUT or PATCH without Content-Type: application/json.
//
// # Receiving
//
// A receive may wait (long-poll) up to MaxWait for a first message. In
// peek-lock mode a response lost on the way (the client went away) costs
// nothing: the locks expire and the messages are delivered again. In
// receiveanddelete mode the messages are removed before the response is
// written, so a lost response loses them: that is the mode's contract
// (at most once), the same as over AMQP.
//
// # Resubmitting dead-lettered messages
//
// dlq/resubmit locks messages of the dead-letter sub-queue, sends copies of
// them to the queue as new messages (same body, sender fields and
// application properties, without DeadLetterReason and
// DeadLetterErrorDescription) and, once that send is durable, completes the
// originals. The two steps are not one transaction: a crash, or a lost lock,
// between them leaves the message in both places, so resubmit can duplicate
// a message but never lose one. A copy dropped by duplicate detection is not
// completed: its original stays in the dead-letter sub-queue and is counted
// as skipped.
package mgmt
