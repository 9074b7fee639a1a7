// Package sbadmin is the Service Bus administration API: the ATOM/XML REST
// face that the official administration clients (Go azservicebus/admin, JS
// ServiceBusAdministrationClient) call to create, read, update, list and
// delete entities. The clients ignore UseDevelopmentEmulator and always dial
// https://<Endpoint host[:port]>/, so internal/server serves this handler
// over TLS on the AMQP port (first byte 0x16) and optionally on a listener
// of its own.
//
// # Endpoints
//
//	GET    /$namespaceinfo                         200 entry with NamespaceInfo
//	GET    /$Resources/Queues?$skip=N&$top=M       200 feed of QueueDescription entries, by name
//	GET    /$Resources/Topics?$skip=N&$top=M       200 feed of TopicDescription entries, by name
//	GET    /{name}                                 200 entry (queue or topic); 404 when missing (the Go SDK returns nil)
//	PUT    /{name}                                 create (the body's description says queue or topic): 201; 409 when it exists
//	PUT    /{name}  with If-Match: *               update: 200 entry; 404 when missing
//	DELETE /{name}                                 200, empty body; 404 when missing (a topic takes its subscriptions)
//	GET    /{topic}/Subscriptions?$skip&$top       200 feed of SubscriptionDescription entries, by name
//	GET|PUT|DELETE /{topic}/Subscriptions/{sub}    as for queues; a create's DefaultRuleDescription is the first rule
//	GET    /{topic}/Subscriptions/{sub}/Rules/     200 feed of RuleDescription entries, in the order added
//	PUT    /{topic}/Subscriptions/{sub}/Rules/     create a rule named by the body (the Go client's unnamed rule)
//	GET|PUT|DELETE /{topic}/Subscriptions/{sub}/Rules/{rule}   as for queues; If-Match: * replaces the rule
//
// Paths are matched case-insensitively (the Subscriptions and Rules
// keywords too); the api-version query parameter is accepted whatever its
// value and echoed in the URLs of the response. Queue and topic names may
// contain '/'; subscription and rule names may not, so a path is read from
// its end.
//
// # Documents
//
// Entries and feeds follow Service Bus's own documents: an Atom <entry> with
// id (the entity's absolute URL, from whose path the JS client reads topic,
// subscription and rule names), <title type="text"> (the entity's own name,
// which the Go client uses), published, updated, author, a self link and
// <content type="application/xml"> holding a QueueDescription,
// TopicDescription, SubscriptionDescription or RuleDescription in the
// Service Bus namespace with every element Service Bus writes, in its order.
// CountDetails declares one prefixed namespace (d2p1) for its children,
// which the JS client needs. A RuleDescription always has an Action
// (EmptyRuleAction when none: the Go client dereferences it), and typed
// values are written <Value i:type="d6p1:int" xmlns:d6p1="...XMLSchema">
// with the i prefix of the description (JS looks up "i:type" literally and
// strips five characters of prefix). Integers that fit 32 bits are "int"
// (the Go client reads int, not long). A topic's SizeInBytes and
// CountDetails are summed over its subscriptions, each copy counted. Durations are written
// as .NET's XmlConvert writes a TimeSpan (PT1M, P1DT2H, PT0.5S) and "never"
// as P10675199DT2H48M5.4775807S; times are RFC 3339 UTC with up to seven
// fractional digits, 0001-01-01T00:00:00Z for "never accessed".
//
// Request bodies are read by local element name, so any namespace prefix
// works. Every description element is optional: an absent element takes
// Service Bus's default (LockDuration PT1M, MaxSizeInMegabytes 1024,
// MaxDeliveryCount 10, DefaultMessageTimeToLive and AutoDeleteOnIdle never,
// DuplicateDetectionHistoryTimeWindow PT10M, EnableBatchedOperations true,
// MaxMessageSizeInKilobytes 256, Status Active, booleans false). An update
// replaces the whole description, as in Service Bus: send every property
// (the Go client does when you pass it what GetQueue returned). ForwardTo
// and ForwardDeadLetteredMessagesTo accept an entity name or an absolute
// URL and are stored, and returned, as the name. AuthorizationRules are
// accepted and not kept (entities have no rules of their own in Baton; the
// namespace keys of Config.Keys apply); responses carry an empty list.
//
// # Errors
//
// Every error is Service Bus's document
// <Error><Code>404</Code><Detail>...</Detail></Error>, with the status as
// Code and a name in the x-ms-error-code header, which azcore reports as
// ResponseError.ErrorCode. Broker errors are mapped in one table
// (statusOf):
//
//	NotFound               404  MessagingEntityNotFound
//	EntityExists           409  MessagingEntityAlreadyExists
//	InvalidArgument        400  BadRequest (bad names, out-of-range properties)
//	QuotaExceeded          403  QuotaExceeded
//	EntityDisabled         403  MessagingEntityDisabled
//	NotImplemented         501  NotImplemented
//	StoreUnavailable       503  ServerBusy (the client retries)
//	Closed                 503  ServiceUnavailable
//	Unknown                500  InternalServerError
//
// A bad SQL filter or action is the broker's InvalidArgument, whose detail
// names the line, column and token. The handler's own errors: 400
// BadRequest for malformed XML, a bad property value, an unknown filter or
// action type or a bad typed value (the detail names the element), 401
// Unauthorized, 404 NotFound for unknown paths, 405 MethodNotAllowed and
// 413 RequestTooLarge.
//
// # Authentication
//
// Clients send Authorization: SharedAccessSignature sr=..&sig=..&se=..&skn=..
// With no Config.Keys every request is accepted. With keys, the token must
// name a configured key, be unexpired by the injected clock, and carry the
// HMAC-SHA256 under that key of sr (as sent) + "\n" + se; anything else is
// 401, which the Go client surfaces as a ResponseError with StatusCode 401
// and ErrorCode "Unauthorized".
package sbadmin
