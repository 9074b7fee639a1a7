// Shared helpers of the JavaScript end-to-end tests. The Go test
// internal/e2e/sbjs_test.go starts `baton serve` and runs `node --test` here
// with these variables set:
//
//   BATON_SB_CONNECTION_STRING        Endpoint=sb://localhost:<amqp port>;...;UseDevelopmentEmulator=true
//   BATON_SB_AMQPS_CONNECTION_STRING  Endpoint=sb://localhost:<amqps port>;... (no emulator flag: TLS)
//   NODE_EXTRA_CA_CERTS               Baton's development CA (for HTTPS and AMQPS)
//
// Every test passes a timeout to node:test and every receive a
// maxWaitTimeInMs, so nothing hangs.
import { ServiceBusClient, ServiceBusAdministrationClient } from "@azure/service-bus";

export function connectionString() {
  const cs = process.env.BATON_SB_CONNECTION_STRING;
  if (!cs) throw new Error("BATON_SB_CONNECTION_STRING is not set (run these tests through go test ./internal/e2e -run TestSBJavaScriptSDK)");
  return cs;
}

export function amqpsConnectionString() {
  const cs = process.env.BATON_SB_AMQPS_CONNECTION_STRING;
  if (!cs) throw new Error("BATON_SB_AMQPS_CONNECTION_STRING is not set");
  return cs;
}

// One test's timeout (node:test option).
export const T = { timeout: 60_000 };

let counter = 0;
// A queue name unique to this process and call.
export function uniqueName(prefix) {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

// clients returns a data-plane client and an admin client on cs, closed by
// the returned close().
export function clients(cs = connectionString(), retryOptions = {}) {
  const sb = new ServiceBusClient(cs, { retryOptions: { maxRetries: 2, timeoutInMs: 20_000, ...retryOptions } });
  const admin = new ServiceBusAdministrationClient(cs);
  return { sb, admin, close: () => sb.close() };
}

// receiveN receives exactly n messages (in as many calls as it takes) or
// fails after ms.
export async function receiveN(receiver, n, ms = 20_000) {
  const deadline = Date.now() + ms;
  const got = [];
  while (got.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`received ${got.length} of ${n} messages before the deadline: ${JSON.stringify(got.map((m) => m.body))}`);
    const msgs = await receiver.receiveMessages(n - got.length, { maxWaitTimeInMs: Math.min(left, 5_000) });
    got.push(...msgs);
  }
  return got;
}

// expectNone checks that a receive of up to one message finds nothing.
export async function expectNone(receiver, ms = 500) {
  const msgs = await receiver.receiveMessages(1, { maxWaitTimeInMs: ms });
  if (msgs.length !== 0) throw new Error(`expected no message, got ${JSON.stringify(msgs.map((m) => m.body))}`);
}

export function bodies(msgs) {
  return msgs.map((m) => m.body);
}

// msg returns a message with a messageId. @azure/service-bus 7.9.5 keys its
// automatic lock renewal (on by default in peek-lock) by messageId and throws
// "Failed to stop auto lock renewal - no message ID" when a receiver closes
// with a received message that has none; Azure and Baton assign an id to
// messages sent without one (tested in messages.test.mjs), and the helper
// sets one anyway so that tests do not depend on it.
let idCounter = 0;
export function msg(body, extra = {}) {
  idCounter++;
  return { body, messageId: `${process.pid}-${idCounter}`, ...extra };
}

// eventually retries the async check fn (which throws while unmet) until it
// passes or ms run out, then rethrows its last error.
export async function eventually(fn, ms = 5_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
