// AMQP over TLS: a connection string without UseDevelopmentEmulator makes
// @azure/service-bus dial amqps://host:port (TLS, then AMQP). Baton's AMQPS
// listener terminates TLS with the development CA (trusted here through
// NODE_EXTRA_CA_CERTS) and serves the admin API over HTTPS on the same port.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { clients, amqpsConnectionString, uniqueName, receiveN, expectNone, bodies, msg, T } from "./helpers.mjs";

let c;
before(() => {
  c = clients(amqpsConnectionString());
});
after(async () => {
  await c.close();
});

test("admin, send, receive, settle and sessions over AMQPS", T, async () => {
  assert.ok(!/UseDevelopmentEmulator/i.test(amqpsConnectionString()), "the TLS connection string has no emulator flag");
  const q = uniqueName("tls");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q);
  try {
    await sender.sendMessages([msg("secure-1"), msg("secure-2", { applicationProperties: { k: "v" } })]);
    const got = await receiveN(receiver, 2);
    assert.deepEqual(bodies(got), ["secure-1", "secure-2"]);
    assert.equal(got[1].applicationProperties.k, "v");
    await receiver.completeMessage(got[0]);
    await receiver.deadLetterMessage(got[1], { deadLetterReason: "over-tls" });
    const peeked = await receiver.peekMessages(5);
    assert.equal(peeked.length, 0);
    await expectNone(receiver);
    const rp = await c.admin.getQueueRuntimeProperties(q);
    assert.equal(rp.deadLetterMessageCount, 1);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }

  const sq = uniqueName("tls-sess");
  await c.admin.createQueue(sq, { requiresSession: true });
  const ss = c.sb.createSender(sq);
  try {
    await ss.sendMessages(msg("in-session", { sessionId: "s1" }));
    const sr = await c.sb.acceptNextSession(sq);
    assert.equal(sr.sessionId, "s1");
    await sr.setSessionState("tls");
    const [m] = await receiveN(sr, 1);
    await sr.completeMessage(m);
    assert.equal(String(await sr.getSessionState()), "tls");
    await sr.close();
  } finally {
    await ss.close();
  }
});

test("the plain port and the TLS port serve the same broker", T, async () => {
  const plain = clients();
  try {
    const q = uniqueName("both");
    await plain.admin.createQueue(q);
    await plain.sb.createSender(q).sendMessages(msg("from-plain"));
    const r = c.sb.createReceiver(q, { receiveMode: "receiveAndDelete" });
    const [m] = await receiveN(r, 1);
    assert.equal(m.body, "from-plain");
    await r.close();
  } finally {
    await plain.close();
  }
});
