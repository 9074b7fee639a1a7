// ServiceBusAdministrationClient (@azure/service-bus 7.9.5) against Baton's
// administration API: HTTPS on the AMQP port, trusted through
// NODE_EXTRA_CA_CERTS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { clients, uniqueName, msg, eventually, T } from "./helpers.mjs";

let c;
before(() => {
  c = clients();
});
after(async () => {
  await c.close();
});

test("create, get, update, exists and delete a queue", T, async () => {
  const q = uniqueName("admin");
  const created = await c.admin.createQueue(q, { lockDuration: "PT45S", maxDeliveryCount: 7, requiresSession: false,
    defaultMessageTimeToLive: "PT1H", deadLetteringOnMessageExpiration: true, userMetadata: "meta" });
  assert.equal(created.name, q);
  assert.equal(created.lockDuration, "PT45S");
  assert.equal(created.maxDeliveryCount, 7);
  assert.equal(created.defaultMessageTimeToLive, "PT1H");
  assert.equal(created.deadLetteringOnMessageExpiration, true);
  assert.equal(created.userMetadata, "meta");
  assert.equal(created.status, "Active");

  await assert.rejects(c.admin.createQueue(q), (err) => {
    assert.equal(err.code, "MessageEntityAlreadyExistsError", `${err.code}: ${err.message}`);
    assert.equal(err.statusCode, 409);
    return true;
  });

  const got = await c.admin.getQueue(q);
  assert.equal(got.name, q);
  assert.equal(got.maxDeliveryCount, 7);
  assert.equal(await c.admin.queueExists(q), true);

  got.maxDeliveryCount = 3;
  got.lockDuration = "PT1M";
  const updated = await c.admin.updateQueue(got);
  assert.equal(updated.maxDeliveryCount, 3);
  assert.equal(updated.lockDuration, "PT1M");
  assert.equal((await c.admin.getQueue(q)).maxDeliveryCount, 3);

  await c.admin.deleteQueue(q);
  assert.equal(await c.admin.queueExists(q), false);
  await assert.rejects(c.admin.getQueue(q), (err) => {
    assert.equal(err.code, "MessageEntityNotFoundError", `${err.code}: ${err.message}`);
    assert.equal(err.statusCode, 404);
    return true;
  });
  await assert.rejects(c.admin.deleteQueue(q), (err) => err.statusCode === 404);
});

test("list queues, with paging", T, async () => {
  const prefix = uniqueName("list");
  const names = [];
  for (let i = 0; i < 5; i++) {
    names.push(`${prefix}-${i}`);
    await c.admin.createQueue(`${prefix}-${i}`);
  }
  const all = [];
  for await (const q of c.admin.listQueues()) all.push(q.name);
  for (const n of names) assert.ok(all.includes(n), `${n} listed`);

  const paged = [];
  for await (const page of c.admin.listQueues().byPage({ maxPageSize: 2 })) {
    assert.ok(page.length <= 2, `page of ${page.length}`);
    paged.push(...page.map((q) => q.name));
  }
  assert.deepEqual(paged, all, "paging returns the same queues in the same order");

  const runtime = [];
  for await (const rp of c.admin.listQueuesRuntimeProperties()) runtime.push(rp.name);
  for (const n of names) assert.ok(runtime.includes(n), `${n} in runtime properties`);
  for (const n of names) await c.admin.deleteQueue(n);
});

test("queue runtime properties count messages by state", T, async () => {
  const q = uniqueName("runtime");
  await c.admin.createQueue(q);
  const sender = c.sb.createSender(q);
  const receiver = c.sb.createReceiver(q, { receiveMode: "receiveAndDelete" });
  try {
    await sender.sendMessages([msg("a"), msg("b"), msg("c")]);
    await sender.scheduleMessages(msg("later"), new Date(Date.now() + 3600_000));
    let rp = await c.admin.getQueueRuntimeProperties(q);
    assert.equal(rp.name, q);
    assert.equal(rp.activeMessageCount, 3);
    assert.equal(rp.scheduledMessageCount, 1);
    assert.equal(rp.deadLetterMessageCount, 0);
    assert.equal(rp.totalMessageCount, 4);
    assert.ok(rp.createdAt instanceof Date && rp.createdAt.getTime() > 0, `createdAt ${rp.createdAt}`);
    assert.ok(rp.sizeInBytes >= 0);
    const got = await receiver.receiveMessages(3, { maxWaitTimeInMs: 5000 });
    assert.ok(got.length > 0);
    // Baton completes a receive-and-delete message just after writing it to
    // the socket, so the count may lag the receive by a moment.
    await eventually(async () => {
      rp = await c.admin.getQueueRuntimeProperties(q);
      assert.equal(rp.activeMessageCount, 3 - got.length);
    });
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
  await assert.rejects(c.admin.getQueueRuntimeProperties(uniqueName("nope")), (err) => err.statusCode === 404);
});

test("namespace properties", T, async () => {
  const ns = await c.admin.getNamespaceProperties();
  assert.equal(typeof ns.name, "string");
  assert.ok(ns.createdAt instanceof Date);
});
