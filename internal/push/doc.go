// Package push delivers Event Grid event subscriptions to webhooks: the
// subscription filter (every operator of Azure's advanced filtering), the
// validation handshake (EventGridEvent's SubscriptionValidationEvent with a
// manual validation URL, CloudEvents' OPTIONS abuse protection), the
// delivery request with the aeg-* headers, Azure's retry schedule with its
// per-status minimums and non-retriable codes, and dead-lettering with
// Azure's reasons.
//
// A subscription's pending deliveries live in a broker queue (DESIGN.md
// §4): the face sends each matching event there at publish time, and a
// worker goroutine per subscription receives from it with peek-lock like
// any receiver. A delivered event is completed. A failed attempt is a
// scheduled copy of the message (due at the next attempt's time, with the
// attempt count, the last outcome and the publish time in its properties)
// followed by completing the original, so retries are broker state: a
// restart resumes them where they were, and a crash between the two steps
// delivers twice rather than never. An event that runs out of attempts or
// time, or meets a non-retriable status, is dead-lettered in the broker
// queue's dead-letter sub-queue with Azure's reason (and, when configured,
// written to a directory in Azure's blob layout).
//
// Every wait runs on the injected clock; the Manager owns its goroutines
// and Stop waits for them.
package push
