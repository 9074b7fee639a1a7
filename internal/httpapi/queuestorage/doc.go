// Package queuestorage is Baton's Azure Queue Storage face: the REST/XML API
// that the official Storage SDKs (Go azqueue, JS @azure/storage-queue, .NET
// Azure.Storage.Queues and so Azure Functions) speak, served on
// http://127.0.0.1:10001/<account> with Azurite's path-style addressing.
//
// The wire contract is /work/shared/specs/storage-queue.md; the section
// numbers in comments (§4.2, …) refer to it. In short:
//
//   - Routing (handler.go): the first path segment is the account (or,
//     production-style, the first label of the host name), then
//     /<queue>[/messages[/<id>]]; comp, restype and peekonly pick the
//     operation. Query names are case-insensitive; unknown parameters (SAS,
//     timeout, cache busters) are ignored.
//   - Authentication (auth.go, canon.go): SharedKey with the three header
//     orders the SDKs use (byte order, the JS .NET-culture emulation, .NET
//     IgnoreSymbols), SharedKey Lite, account SAS (both string-to-sign
//     layouts), service SAS with stored access policies, and an optional
//     anonymous mode. A failed signature answers 403 AuthenticationFailed
//     with the string the server signed. The hot path (signkey.go) first
//     checks the string nearly every client signs, built in a pooled
//     buffer, with pooled HMAC states per account key; only a mismatch
//     builds the full list of variants.
//   - Message bodies and answers (fastxml.go, xml.go): a hand-written
//     reader takes the plain <QueueMessage><MessageText> body the SDKs send
//     and declines anything unusual, which encoding/xml then decodes, so
//     answers and error codes are encoding/xml's; QueueMessagesList answers
//     are appended into pooled buffers.
//   - Errors (errors.go): one table from Azure error code to status and
//     message, which also maps the broker's codes; every error carries
//     x-ms-error-code and an XML <Error> body.
//   - Operations (queues.go, messages.go, service.go) validate the request
//     exactly as Azure does and call an Engine (engine.go), which in the
//     server is the broker's storage-queue API. Queues are broker entities
//     named "<account>/<queue>".
//
// Stored access policies (Set Queue ACL) are kept durably in the queue's
// entity metadata under the reserved key "$acl" (a metadata name must be a
// C# identifier, so no user key can collide); they are hidden from Get
// Metadata and List Queues. Service properties (CORS rules, logging and
// metrics settings) are kept per account by the Engine when it is a
// PropertiesKeeper (pgengine: shared by every node, re-read at most once a
// second), else in an XML file in Config.StateDir (service-<account>.xml),
// or in memory when that is empty.
package queuestorage
