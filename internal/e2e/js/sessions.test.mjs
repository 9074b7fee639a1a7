// Sessions with @azure/service-bus 7.9.5 against Baton: accept a named
// session and the next available one, FIFO per session, session state
// get/set, session lock renewal, session-scoped peek and deferral.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { clients, uniqueName, receiveN, expectNone, bodies, msg, T } from "./helpers.mjs";

let c;
before(() => {
  c = clients();
});
after(async () => {
  await c.close();
});

test("accept a named session and the next available one", T, async () => {
  const q = uniqueName("sess");
  await c.admin.createQueue(q, { requiresSession: true });
  const sender = c.sb.createSender(q);
  try {
    await sender.sendMessages([msg("a1", { sessionId: "A" }), msg("b1", { sessionId: "B" }), msg("a2", { sessionId: "A" }), msg("b2", { sessionId: "B" })]);

    const ra = await c.sb.acceptSession(q, "A");
    assert.equal(ra.sessionId, "A");
    assert.ok(ra.sessionLockedUntilUtc instanceof Date && ra.sessionLockedUntilUtc > new Date(), `sessionLockedUntilUtc ${ra.sessionLockedUntilUtc}`);
    const a = await receiveN(ra, 2);
    assert.deepEqual(bodies(a), ["a1", "a2"]);
    assert.ok(a.every((m) => m.sessionId === "A"));

    // The next available session is B: A is locked by ra.
    const rb = await c.sb.acceptNextSession(q, { maxAutoLockRenewalDurationInMs: 0 });
    assert.equal(rb.sessionId, "B");
    const b = await receiveN(rb, 2);
    assert.deepEqual(bodies(b), ["b1", "b2"]);

    // A locked session cannot be accepted twice.
    await assert.rejects(c.sb.acceptSession(q, "A", { maxAutoLockRenewalDurationInMs: 0 }), (err) => {
      assert.ok(["SessionCannotBeLocked", "ServiceTimeout", "GeneralError"].includes(err.code), `${err.code}: ${err.message}`);
      return true;
    });

    for (const m of a) await ra.completeMessage(m);
    for (const m of b) await rb.completeMessage(m);
    await expectNone(ra);
    await Promise.all([ra.close(), rb.close()]);

    const rp = await c.admin.getQueueRuntimeProperties(q);
    assert.equal(rp.totalMessageCount, 0);
  } finally {
    await sender.close();
  }
});

test("session state, lock renewal, peek and defer in a session", T, async () => {
  const q = uniqueName("state");
  await c.admin.createQueue(q, { requiresSession: true, lockDuration: "PT30S" });
  const sender = c.sb.createSender(q);
  try {
    await sender.sendMessages([msg("s1", { sessionId: "wf" }), msg("s2", { sessionId: "wf" }), msg("other", { sessionId: "zz" })]);
    const r = await c.sb.acceptSession(q, "wf");
    try {
      assert.equal(await r.getSessionState(), null, "no state yet");
      await r.setSessionState("step-1");
      const state = await r.getSessionState();
      assert.equal(Buffer.isBuffer(state) ? state.toString() : state, "step-1");

      const before = r.sessionLockedUntilUtc;
      const until = await r.renewSessionLock();
      assert.ok(until instanceof Date && until >= before, `renewSessionLock ${until} before ${before}`);
      assert.ok(r.sessionLockedUntilUtc >= before);

      const peeked = await r.peekMessages(10);
      assert.deepEqual(bodies(peeked), ["s1", "s2"], "peek sees only this session");

      const [m1] = await receiveN(r, 1);
      assert.equal(m1.body, "s1");
      await r.deferMessage(m1);
      const [m2] = await receiveN(r, 1);
      assert.equal(m2.body, "s2");
      await r.completeMessage(m2);
      const deferred = await r.receiveDeferredMessages(m1.sequenceNumber);
      assert.deepEqual(bodies(deferred), ["s1"]);
      await r.completeMessage(deferred[0]);

      await r.setSessionState(null);
      assert.equal(await r.getSessionState(), null, "state cleared");
      await expectNone(r);
    } finally {
      await r.close();
    }
    // The other session is still there.
    const rz = await c.sb.acceptNextSession(q);
    assert.equal(rz.sessionId, "zz");
    const [z] = await receiveN(rz, 1);
    assert.equal(z.body, "other");
    await rz.completeMessage(z);
    await rz.close();
  } finally {
    await sender.close();
  }
});

test("session state survives closing the receiver", T, async () => {
  const q = uniqueName("keep");
  await c.admin.createQueue(q, { requiresSession: true });
  const r1 = await c.sb.acceptSession(q, "s");
  await r1.setSessionState(Buffer.from([1, 2, 3]));
  await r1.close();
  const r2 = await c.sb.acceptSession(q, "s");
  try {
    const st = await r2.getSessionState();
    assert.deepEqual([...st], [1, 2, 3]);
  } finally {
    await r2.close();
  }
});

test("acceptNextSession with no session waiting times out", T, async () => {
  const q = uniqueName("empty");
  await c.admin.createQueue(q, { requiresSession: true });
  const quick = clients(undefined, { timeoutInMs: 3_000 });
  try {
    const started = Date.now();
    await assert.rejects(quick.sb.acceptNextSession(q, { maxAutoLockRenewalDurationInMs: 0 }), (err) => {
      assert.ok(["ServiceTimeout", "SessionCannotBeLocked", "GeneralError"].includes(err.code) || /timed out|timeout/i.test(err.message), `${err.code}: ${err.message}`);
      return true;
    });
    assert.ok(Date.now() - started < 59_000, "answered before the test deadline");
  } finally {
    await quick.close();
  }
});
