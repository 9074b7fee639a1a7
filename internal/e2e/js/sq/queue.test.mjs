// End-to-end tests of Baton's Queue Storage face with @azure/storage-queue
// 12.30.0 (the newest release that runs on Node 20). internal/e2e/sq_js_test.go
// starts `baton serve` and passes its address in BATON_QUEUE_URL
// (http://127.0.0.1:<port>); run alone with
//   BATON_QUEUE_URL=http://127.0.0.1:10001 node --test
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  QueueServiceClient,
  QueueClient,
  StorageSharedKeyCredential,
  AccountSASPermissions,
  QueueSASPermissions,
} from "@azure/storage-queue";

// Skipped when BATON_QUEUE_URL is unset, so that a `node --test` run from a
// parent directory (the Service Bus JS tests) does not pick these up.
const base = process.env.BATON_QUEUE_URL ?? "http://127.0.0.1:10001";
const opts = { skip: process.env.BATON_QUEUE_URL ? false : "BATON_QUEUE_URL is not set (internal/e2e/sq_nodejs_test.go sets it)" };
const account = "devstoreaccount1";
const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const endpoint = `${base}/${account}`;
const connStr = `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};QueueEndpoint=${endpoint};`;
const noRetry = { retryOptions: { maxTries: 1 } };
const svc = QueueServiceClient.fromConnectionString(connStr, noRetry);

// expectCode awaits p and checks the RestError's status and Azure code.
async function expectCode(p, status, code) {
  await assert.rejects(p, (err) => {
    assert.equal(err.statusCode, status, `status of ${err.message}`);
    assert.equal(err.code, code, `code of ${err.message}`);
    return true;
  });
}

test("queues: create (JS header order with metadata), idempotency, properties, metadata, list, delete", opts, async () => {
  const q = svc.getQueueClient("js-orders");
  // MyKey, a_b and a1 sort differently in the JS signer than in byte order.
  await q.create({ metadata: { MyKey: "1", a_b: "2", a1: "3" } });
  const again = await q.createIfNotExists({ metadata: { mykey: "1", a_b: "2", a1: "3" } });
  assert.equal(again.succeeded, false);
  await expectCode(q.create({ metadata: { other: "x" } }), 409, "QueueAlreadyExists");
  const conflict = await q.createIfNotExists();
  assert.equal(conflict.succeeded, false);
  await q.sendMessage("one");
  let props = await q.getProperties();
  assert.equal(props.approximateMessagesCount, 1);
  assert.deepEqual(props.metadata, { mykey: "1", a_b: "2", a1: "3" });
  await q.setMetadata({ owner: "ops" });
  props = await q.getProperties();
  assert.deepEqual(props.metadata, { owner: "ops" });

  for (const n of ["js-orders-b", "js-orders-a", "js-other"]) {
    await svc.getQueueClient(n).create();
  }
  const names = [];
  let pages = 0;
  for await (const page of svc.listQueues({ prefix: "js-orders", includeMetadata: true }).byPage({ maxPageSize: 2 })) {
    pages++;
    for (const item of page.queueItems ?? []) {
      names.push(item.name);
      if (item.name === "js-orders") assert.deepEqual(item.metadata, { owner: "ops" });
    }
  }
  assert.deepEqual(names, ["js-orders", "js-orders-a", "js-orders-b"]);
  assert.equal(pages, 2);

  await q.delete();
  assert.equal((await q.deleteIfExists()).succeeded, false);
  await expectCode(q.getProperties(), 404, "QueueNotFound");
});

test("messages: send, receive with dequeue counts, peek, update with and without text, stale receipts, clear", opts, async () => {
  const q = svc.getQueueClient("js-work");
  await q.create();
  const sent = await q.sendMessage("  spaced <&> text  ", { messageTimeToLive: -1 });
  assert.equal(sent.expiresOn.getUTCFullYear(), 9999);
  await q.sendMessage("later", { visibilityTimeout: 3600 });
  const peeked = await q.peekMessages({ numberOfMessages: 32 });
  assert.equal(peeked.peekedMessageItems.length, 1);
  assert.equal(peeked.peekedMessageItems[0].messageText, "  spaced <&> text  ");
  assert.equal(peeked.peekedMessageItems[0].dequeueCount, 0);

  const got = await q.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
  assert.equal(got.receivedMessageItems.length, 1);
  const m = got.receivedMessageItems[0];
  assert.equal(m.dequeueCount, 1);
  assert.equal(m.messageText, "  spaced <&> text  ");

  // Update without text: JS sends no body; the text is kept.
  const upd = await q.updateMessage(m.messageId, m.popReceipt, undefined, 0);
  assert.notEqual(upd.popReceipt, m.popReceipt);
  assert.ok(upd.nextVisibleOn instanceof Date);
  await expectCode(q.deleteMessage(m.messageId, m.popReceipt), 404, "MessageNotFound");
  const again = await q.receiveMessages({ visibilityTimeout: 60 });
  const m2 = again.receivedMessageItems[0];
  assert.equal(m2.messageText, "  spaced <&> text  ");
  assert.equal(m2.dequeueCount, 2);
  const upd2 = await q.updateMessage(m2.messageId, m2.popReceipt, "replaced", 0);
  const peek2 = await q.peekMessages();
  assert.equal(peek2.peekedMessageItems[0].messageText, "replaced");
  await q.deleteMessage(m2.messageId, upd2.popReceipt);
  await expectCode(q.deleteMessage(m2.messageId, upd2.popReceipt), 404, "MessageNotFound");

  assert.equal((await q.getProperties()).approximateMessagesCount, 1);

  // The JS client drops newlines from the text it sends; a message put by
  // another client with newlines reads back intact (the server writes them
  // literally, as Azure does, not as &#xA; which this SDK would not decode).
  const tok = new URL(svc.generateAccountSasUrl(new Date(Date.now() + 3600e3), AccountSASPermissions.parse("a"), "o")).search.slice(1);
  const put = await fetch(`${endpoint}/js-work/messages?${tok}`, {
    method: "POST",
    headers: { "x-ms-version": "2026-04-06" },
    body: "<QueueMessage><MessageText>line1\nline2\ttab</MessageText></QueueMessage>",
  });
  assert.equal(put.status, 201);
  const nl = await q.peekMessages({ numberOfMessages: 32 });
  assert.ok(nl.peekedMessageItems.some((m) => m.messageText === "line1\nline2\ttab"), JSON.stringify(nl.peekedMessageItems));
  await q.clearMessages();
  assert.equal((await q.getProperties()).approximateMessagesCount, 0);
});

test("service properties with CORS, statistics, stored access policies", opts, async () => {
  await svc.setProperties({
    cors: [{ allowedOrigins: "http://app.example", allowedMethods: "GET,PUT,POST,DELETE", allowedHeaders: "x-ms-*,content-type,authorization", exposedHeaders: "x-ms-request-id", maxAgeInSeconds: 120 }],
  });
  const props = await svc.getProperties();
  assert.equal(props.cors.length, 1);
  assert.equal(props.cors[0].allowedOrigins, "http://app.example");
  assert.equal(props.queueAnalyticsLogging.version, "1.0");
  const stats = await svc.getStatistics();
  assert.equal(stats.geoReplication.status, "live");

  const q = svc.getQueueClient("js-acl");
  await q.create();
  const startsOn = new Date("2021-06-11T20:00:00Z");
  const expiresOn = new Date("2049-06-11T20:00:00Z");
  await q.setAccessPolicy([{ id: "p1", accessPolicy: { startsOn, expiresOn, permissions: "raup" } }]);
  const acl = await q.getAccessPolicy();
  assert.equal(acl.signedIdentifiers.length, 1);
  assert.equal(acl.signedIdentifiers[0].id, "p1");
  assert.equal(acl.signedIdentifiers[0].accessPolicy.permissions, "raup");
  assert.equal(acl.signedIdentifiers[0].accessPolicy.expiresOn.getTime(), expiresOn.getTime());
});

test("SAS: account and queue tokens from the SDK, stored access policy, permission mismatch, expiry", opts, async () => {
  const q = svc.getQueueClient("js-sas");
  await q.create();
  const accountUrl = svc.generateAccountSasUrl(new Date(Date.now() + 3600e3), AccountSASPermissions.parse("lcap"), "sco");
  const sasSvc = new QueueServiceClient(accountUrl, undefined, noRetry);
  await sasSvc.getQueueClient("js-sas-made").create();
  await sasSvc.getQueueClient("js-sas").sendMessage("via account sas");
  await expectCode(sasSvc.getQueueClient("js-sas").delete(), 403, "AuthorizationPermissionMismatch");

  const expiredUrl = svc.generateAccountSasUrl(new Date(Date.now() - 60e3), AccountSASPermissions.parse("l"), "s");
  const expired = new QueueServiceClient(expiredUrl, undefined, noRetry);
  await expectCode(expired.listQueues().byPage().next(), 403, "AuthenticationFailed");

  const queueUrl = await q.generateSasUrl({ permissions: QueueSASPermissions.parse("rp"), expiresOn: new Date(Date.now() + 3600e3) });
  const qs = new QueueClient(queueUrl, undefined, noRetry);
  const got = await qs.receiveMessages();
  assert.equal(got.receivedMessageItems.length, 1);
  await qs.deleteMessage(got.receivedMessageItems[0].messageId, got.receivedMessageItems[0].popReceipt);
  await expectCode(qs.sendMessage("no add"), 403, "AuthorizationPermissionMismatch");

  await q.setAccessPolicy([{ id: "adders", accessPolicy: { expiresOn: new Date(Date.now() + 3600e3), permissions: "a" } }]);
  const polUrl = await q.generateSasUrl({ identifier: "adders" });
  const pol = new QueueClient(polUrl, undefined, noRetry);
  await pol.sendMessage("via stored policy");
  await expectCode(pol.peekMessages(), 403, "AuthorizationPermissionMismatch");
  assert.equal((await q.getProperties()).approximateMessagesCount, 1);
});

test("bad input: names, sizes, ranges, wrong key — Azure's codes, nothing changed", opts, async () => {
  await expectCode(svc.getQueueClient("ab").create(), 400, "OutOfRangeInput");
  await expectCode(svc.getQueueClient("Bad-Name").create(), 400, "InvalidResourceName");
  await expectCode(svc.getQueueClient("a--b").create(), 400, "InvalidResourceName");
  const q = svc.getQueueClient("js-bad");
  await q.create();
  await expectCode(q.sendMessage("x".repeat(65537)), 413, "RequestBodyTooLarge");
  await expectCode(q.sendMessage("x", { visibilityTimeout: 604801 }), 400, "OutOfRangeQueryParameterValue");
  await expectCode(q.sendMessage("x", { messageTimeToLive: 1, visibilityTimeout: 2 }), 400, "InvalidQueryParameterValue");
  await expectCode(q.receiveMessages({ numberOfMessages: 33 }), 400, "OutOfRangeQueryParameterValue");
  const wrong = new QueueServiceClient(endpoint, new StorageSharedKeyCredential(account, Buffer.from("wrong key").toString("base64")), noRetry);
  await expectCode(wrong.getQueueClient("js-bad").clearMessages(), 403, "AuthenticationFailed");
  assert.equal((await q.getProperties()).approximateMessagesCount, 0);
});

test("browser-style CORS: preflight allowed and refused, headers on the actual request", opts, async () => {
  await svc.setProperties({
    cors: [{ allowedOrigins: "http://app.example", allowedMethods: "GET,PUT,POST,DELETE", allowedHeaders: "x-ms-*,content-type,authorization", exposedHeaders: "x-ms-request-id", maxAgeInSeconds: 120 }],
  });
  const target = `${endpoint}/js-cors/messages`;
  const ok = await fetch(target, {
    method: "OPTIONS",
    headers: { Origin: "http://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-ms-version,x-ms-date,authorization,content-type" },
  });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("access-control-allow-origin"), "http://app.example");
  assert.equal(ok.headers.get("access-control-allow-methods"), "POST");
  assert.equal(ok.headers.get("access-control-max-age"), "120");
  assert.match(ok.headers.get("access-control-allow-headers"), /x-ms-version/);
  const refused = await fetch(target, { method: "OPTIONS", headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" } });
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get("x-ms-error-code"), "CorsPreflightFailure");
  // An actual request from that origin gets the CORS answer headers.
  const res = await fetch(`${endpoint}?comp=list&${new URL(svc.generateAccountSasUrl(new Date(Date.now() + 3600e3), AccountSASPermissions.parse("l"), "s")).search.slice(1)}`, {
    headers: { Origin: "http://app.example", "x-ms-version": "2026-04-06" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), "http://app.example");
  assert.equal(res.headers.get("access-control-expose-headers"), "x-ms-request-id");
});
