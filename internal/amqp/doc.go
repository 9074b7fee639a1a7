// Package amqp is Baton's AMQP 1.0 server: the connection, session and link
// state machines that map Azure Service Bus clients onto the broker
// (shared/specs/service-bus-amqp.md §1, §3–§7).
//
// # Using it
//
//	srv, err := amqp.NewServer(amqp.Config{Broker: b, Logger: log, Clock: clk})
//	go srv.Serve(ln)           // returns ErrServerClosed after Shutdown
//	...
//	err = srv.Shutdown(ctx)    // close listeners, close connections with
//	                           // amqp:connection:forced, wait for goroutines
//
// Each accepted connection is dispatched on its first byte (listener.go):
// 'A' is AMQP, 0x16 (a TLS ClientHello) goes to Config.HTTPS over
// Config.TLSConfig, anything else gets the AMQP protocol header back and is
// closed.
//
// Config.Broker is a broker.Engine: the in-memory *broker.Broker, or any
// other engine. Transactions (txn.go) need an engine that is also a
// broker.Transactor; on any other engine the coordinator rejects each
// declare with amqp:not-implemented.
//
// # Design
//
// Goroutines: per connection a reader (decodes frames, runs open/begin/end/
// close), a writer (the only writer of the socket; batches frames with
// writev, sends heartbeats) and a watchdog on the injected clock (idle
// timeout, write stall, heartbeat schedule; the clock is injected so socket
// deadlines, which run on the wall clock, are not used). Per session one
// mux goroutine owns the session and every link on it. Per entity link one
// worker calls the broker (broker.Send for a client sender, broker.Receive
// driven by credit for a client receiver), so a blocking broker call never
// stalls a mux or the reader; settlements and RPC handlers run on short
// goroutines the session waits for. Workers report back to the mux by
// posting closures on its event channel. Every goroutine is owned: the
// reader waits for its sessions, a session for its workers, the Server for
// its connections.
//
// Flow control: sessions advertise Config.SessionWindow and reopen it at
// half; client senders get Config.LinkCredit minus the deliveries still
// being stored; client receivers are served up to their credit, never
// revoked, with drain answered as the spec says. Outgoing transfers are
// split at the client's max-frame-size and wait for its incoming window.
//
// Nodes: a Resolver maps each attach address onto an EntityNode (a broker
// path) or an RPCNode (request/response: $cbs, <entity>/$management, with
// an RPCHandler). DefaultResolver has a built-in $cbs that accepts every
// put-token and a $management that answers 501; the CBS and management
// implementations replace those handlers.
//
// Messages (mapping.go): the client's bare message is stored unchanged as
// broker.Message.Body (FormatAMQP); deliveries get a fresh header and the
// broker's message annotations in front of it, with broker property changes
// merged into the application-properties. Broker errors become AMQP
// conditions in one table (errors.go).
//
// Peek-lock locks survive link, session and connection loss until they
// expire (§7.4). A receive-and-delete link takes messages in peek-lock and
// completes each once its transfer is queued, so messages a dropped link
// never sent return to the queue.
package amqp
