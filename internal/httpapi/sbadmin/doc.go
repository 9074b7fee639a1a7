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
//	GET    /$namespaceinfo                    200 entry with NamespaceInfo
//	GET    /$Resources/Queues?$skip=N&$top=M  200 feed of QueueDescription entries, by name
//	GET    /{queue}                           200 entry; 404 when missing (the Go SDK returns nil)
//	PUT    /{queue}                           create: 201 entry; 409 when it exists
//	PUT    /{queue}  with If-Match: *         update: 200 entry; 404 when missing
//	DELETE /{queue}                           200, empty body; 404 when missing
//	GET    /$Resources/Topics                 501 (topics are not implemented)
//	*      /{topic}/Subscriptions[/...]       501 (subscriptions and rules are not implemented)
//	PUT    /{name} with a TopicDescription    501
//
// Paths are matched case-insensitively; the api-version query parameter is
// accepted whatever its value and echoed in the URLs of the response.
// Queue names may contain '/'.
//
// # Documents
//
// Entries and feeds follow Service Bus's own documents: an Atom <entry> with
// id (the entity's absolute URL), <title type="text"> (the entity's name,
// which the Go client uses as the queue name), published, updated, author,
// a self link and <content type="application/xml"> holding a
// QueueDescription in the Service Bus namespace with every element Service
// Bus writes, in its order. CountDetails declares one prefixed namespace
// (d2p1) for its children, which the JS client needs. Durations are written
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
// The handler's own errors: 400 BadRequest for malformed XML or a bad
// property value (the detail names the element), 401 Unauthorized, 404
// NotFound for unknown paths, 405 MethodNotAllowed, 413 RequestTooLarge, and
// 501 NotImplemented for topics, subscriptions and rules. 501 is not retried
// by azcore's retry policy, and the Go client returns it as an
// *azcore.ResponseError with StatusCode 501, ErrorCode "NotImplemented" and
// the detail in its message; GetTopic on a missing name answers 404, so the
// Go client reports "no such topic" (nil), which is true.
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
