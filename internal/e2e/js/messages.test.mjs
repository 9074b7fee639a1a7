// Send, receive and settle with @azure/service-bus 7.9.5 against Baton:
// complete, abandon with properties, dead-letter with a reason, defer and
// receiveDeferredMessages, peek, scheduled and cancelled messages, the
// dead-letter sub-queue and receive-and-delete.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { clients, uniqueName, receiveN, expectNone, bodies, msg, eventually, T } from "./helpers.mjs";

let c;
before(() => {
  c = clients();
});
after(async () => {
  await c.close();
});

test("send, receive and settle in peek-lock", T, async () => {
  const q = uniqueName("settle");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q);
  const dlq = c.sb.createReceiver(q, { subQueueType: "deadLetter" });
  try {
    await sender.sendMessages(msg("one", { messageId: "m1", contentType: "text/plain", subject: "s", correlationId: "cid",
      applicationProperties: { s: "str", n: 42, f: 1.5, b: true } }));
    await sender.sendMessages([msg("two"), msg("three")]);
    const batch = await sender.createMessageBatch();
    assert.ok(batch.tryAddMessage(msg("four")), "tryAddMessage");
    await sender.sendMessages(batch);

    const got = await receiveN(receiver, 4);
    assert.deepEqual(bodies(got), ["one", "two", "three", "four"]);
    got.forEach((m, i) => {
      assert.equal(m.sequenceNumber.toNumber(), i + 1, "sequence number");
      assert.ok(m.enqueuedTimeUtc instanceof Date, "enqueuedTimeUtc");
      assert.ok(m.lockedUntilUtc instanceof Date && m.lockedUntilUtc > new Date(Date.now() - 1000), "lockedUntilUtc");
      assert.ok(typeof m.lockToken === "string" && m.lockToken.length === 36, `lock token ${m.lockToken}`);
      // JS shows the header's delivery-count raw (Go adds 1). Baton omits a
      // zero count (the AMQP default), which rhea reads as undefined: see the
      // todo test below.
      assert.equal(m.deliveryCount ?? 0, 0, "first delivery");
    });
    const first = got[0];
    assert.equal(first.messageId, "m1");
    assert.equal(first.contentType, "text/plain");
    assert.equal(first.subject, "s");
    assert.equal(first.correlationId, "cid");
    assert.deepEqual(first.applicationProperties, { s: "str", n: 42, f: 1.5, b: true });

    await receiver.completeMessage(got[0]);
    await receiver.abandonMessage(got[1], { tries: 1, note: "abandoned" });
    await receiver.deadLetterMessage(got[2], { deadLetterReason: "bad", deadLetterErrorDescription: "it was bad" });
    await receiver.deferMessage(got[3]);

    const [again] = await receiveN(receiver, 1);
    assert.equal(again.body, "two");
    assert.equal(again.deliveryCount, 1, "an abandon counts");
    assert.equal(again.applicationProperties.tries, 1);
    assert.equal(again.applicationProperties.note, "abandoned");
    await receiver.completeMessage(again);

    const deferred = await receiver.receiveDeferredMessages([got[3].sequenceNumber]);
    assert.equal(deferred.length, 1);
    assert.equal(deferred[0].body, "four");
    assert.ok(deferred[0].lockToken, "deferred message has a lock token");
    await receiver.completeMessage(deferred[0]);

    const [dead] = await receiveN(dlq, 1);
    assert.equal(dead.body, "three");
    assert.equal(dead.deadLetterReason, "bad");
    assert.equal(dead.deadLetterErrorDescription, "it was bad");
    // Azure sets deadLetterSource only on messages auto-forwarded out of a
    // dead-letter queue; Baton sets it to the queue itself (reported).
    assert.ok(dead.deadLetterSource === undefined || dead.deadLetterSource === q, `deadLetterSource ${dead.deadLetterSource}`);
    await dlq.completeMessage(dead);

    await expectNone(receiver);
    const rp = await c.admin.getQueueRuntimeProperties(q);
    assert.equal(rp.totalMessageCount, 0);
    assert.equal(rp.deadLetterMessageCount, 0);
  } finally {
    await Promise.all([sender.close(), receiver.close(), dlq.close()]);
  }
});

test("a completed message is gone; settling it twice fails", T, async () => {
  const q = uniqueName("twice");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q);
  try {
    await sender.sendMessages(msg("x"));
    const [m] = await receiveN(receiver, 1);
    await receiver.completeMessage(m);
    // The SDK refuses a second settlement itself ("already settled").
    await assert.rejects(receiver.completeMessage(m), /settled|lock/i);
    await expectNone(receiver);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});

test("renew a message lock", T, async () => {
  const q = uniqueName("renew");
  await c.admin.createQueue(q, { lockDuration: "PT30S" });
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q);
  try {
    await sender.sendMessages(msg("r"));
    const [m] = await receiveN(receiver, 1);
    const before = m.lockedUntilUtc;
    const until = await receiver.renewMessageLock(m);
    assert.ok(until instanceof Date, "renewMessageLock returns a Date");
    assert.ok(until >= before, `renewed lock ${until.toISOString()} before the old ${before.toISOString()}`);
    await receiver.completeMessage(m);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});

test("peek, scheduled and cancelled messages", T, async () => {
  const q = uniqueName("peek");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q);
  try {
    for (const b of ["a", "b", "c"]) await sender.sendMessages(msg(b));
    const seqs = await sender.scheduleMessages([msg("later"), msg("cancelled")], new Date(Date.now() + 3600_000));
    assert.equal(seqs.length, 2);
    await sender.cancelScheduledMessages(seqs[1]);

    const peeked = await receiver.peekMessages(10);
    assert.deepEqual(bodies(peeked), ["a", "b", "c", "later"]);
    assert.equal(peeked[3].state, "scheduled");
    assert.ok(peeked[3].scheduledEnqueueTimeUtc instanceof Date, "scheduledEnqueueTimeUtc");
    assert.equal(peeked[0].lockToken, undefined, "peeked messages are not locked");

    const from2 = await receiver.peekMessages(10, { fromSequenceNumber: peeked[1].sequenceNumber });
    assert.deepEqual(bodies(from2), ["b", "c", "later"]);

    // A scheduled message is not received before its time.
    const got = await receiveN(receiver, 3);
    assert.deepEqual(bodies(got), ["a", "b", "c"]);
    for (const m of got) await receiver.completeMessage(m);
    await expectNone(receiver);

    // Scheduled in the past: enqueued at once.
    await sender.scheduleMessages(msg("now"), new Date(Date.now() - 1000));
    const [now] = await receiveN(receiver, 1);
    assert.equal(now.body, "now");
    await receiver.completeMessage(now);

    const rp = await c.admin.getQueueRuntimeProperties(q);
    assert.equal(rp.scheduledMessageCount, 1);
    assert.equal(rp.activeMessageCount, 0);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});

test("receive-and-delete", T, async () => {
  const q = uniqueName("rnd");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q, { receiveMode: "receiveAndDelete" });
  try {
    await sender.sendMessages([msg("x"), msg("y"), msg("z")]);
    const got = await receiveN(receiver, 3);
    assert.deepEqual(bodies(got), ["x", "y", "z"]);
    assert.equal(got[0].lockToken, undefined, "no lock in receive-and-delete");
    await expectNone(receiver);
    await eventually(async () => {
      const rp = await c.admin.getQueueRuntimeProperties(q);
      assert.equal(rp.totalMessageCount, 0);
    });
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});

test("the dead-letter sub-queue: MaxDeliveryCount, peek and receive-and-delete", T, async () => {
  const q = uniqueName("dlq");
  await c.admin.createQueue(q, { maxDeliveryCount: 2 });
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q);
  const dlq = c.sb.createReceiver(q, { subQueueType: "deadLetter", receiveMode: "receiveAndDelete" });
  try {
    await sender.sendMessages(msg("poison", { applicationProperties: { k: "v" } }));
    for (let i = 0; i < 2; i++) {
      const [m] = await receiveN(receiver, 1);
      assert.equal(m.deliveryCount ?? 0, i);
      await receiver.abandonMessage(m);
    }
    await expectNone(receiver);
    const peeked = await dlq.peekMessages(5);
    assert.equal(peeked.length, 1);
    assert.equal(peeked[0].deadLetterReason, "MaxDeliveryCountExceeded");
    const [dead] = await receiveN(dlq, 1);
    assert.equal(dead.body, "poison");
    assert.equal(dead.applicationProperties.k, "v");
    assert.equal(dead.deadLetterReason, "MaxDeliveryCountExceeded");
    await expectNone(dlq);
  } finally {
    await Promise.all([sender.close(), receiver.close(), dlq.close()]);
  }
});

test("receiving from a missing queue fails with MessagingEntityNotFound", T, async () => {
  const receiver = c.sb.createReceiver(uniqueName("missing"));
  try {
    await assert.rejects(receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 }), (err) => {
      assert.equal(err.code, "MessagingEntityNotFound", `${err.code}: ${err.message}`);
      return true;
    });
  } finally {
    await receiver.close();
  }
});

// Azure gives a message sent without a messageId one of its own; the JS SDK
// depends on it (its automatic lock renewal, on by default, is keyed by
// messageId, and closing a receiver that holds a message without one throws).
test("a message sent without a messageId gets one from the broker", T, async () => {
  const q = uniqueName("noid");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  // With the default maxAutoLockRenewalDurationInMs, closing this receiver
  // throws "Failed to stop auto lock renewal - no message ID" and leaves the
  // connection open while the bug lasts; turn renewal off to keep the run clean.
  const receiver = c.sb.createReceiver(q, { maxAutoLockRenewalDurationInMs: 0 });
  try {
    await sender.sendMessages({ body: "anonymous" });
    const [m] = await receiveN(receiver, 1);
    await receiver.completeMessage(m);
    assert.ok(m.messageId != null && m.messageId !== "", "the broker assigned a messageId");
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});

// Azure writes delivery-count in every delivery's header, 0 included, and JS
// shows it as deliveryCount (0 on the first delivery): rhea does not fill in
// the AMQP default for message sections.
test("deliveryCount is 0 on the first delivery", T, async () => {
  const q = uniqueName("count");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q, { receiveMode: "receiveAndDelete" });
  try {
    await sender.sendMessages(msg("first"));
    const [m] = await receiveN(receiver, 1);
    assert.strictEqual(m.deliveryCount, 0);
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});
