// Package eventgrid is Baton's Azure Event Grid face: basic (custom) topics
// that take EventGridEvent, CloudEvents 1.0 and custom-schema publishes on
// POST /api/events, and namespace topics with pull delivery (:publish,
// :receive, :acknowledge, :release, :reject, :renewLock), wire-compatible
// with azeventgrid v1.0.0 and aznamespaces v1.0.0.
//
// The face is thin (DESIGN.md §4). Every subscription is a broker queue:
// a namespace subscription "eventgrid/<namespace>/<topic>/<subscription>"
// that clients receive from, and a basic topic's event subscription
// "eventgrid/topics/<topic>/<subscription>" that internal/push delivers to
// its webhook. Publishing validates every event at the door (one bad event
// refuses the whole request, so no receiver ever meets an event its SDK
// cannot parse), evaluates each subscription's filter and sends the event
// to the matching subscriptions' queues; the request is answered 200 only
// once every send is durable.
//
// Lock tokens handed to namespace receivers are opaque base64 strings that
// carry the broker's lock token, the event's sequence number and the time
// of the first lock, so release with a delay (a scheduled copy, then the
// original completed) and the one-hour renewal cap need no state in the
// face.
//
// Errors use Azure's envelope {"error":{"code","message","details"}} and
// the x-ms-error-code header; broker codes are mapped in one table
// (errors.go).
package eventgrid
