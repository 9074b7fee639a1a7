// Topics, subscriptions and rules with @azure/service-bus 7.9.5 against
// Baton: ServiceBusRuleManager (add-rule, remove-rule, enumerate-rules on the
// subscription's $management node), receiving from subscriptions filtered by
// those rules, rule actions, sessions on a subscription, and a bad SQL
// filter refused with its position.
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

// listAll lists a subscription's rules page by page. (Iterating
// listRules() item by item yields one `undefined` when there are no rules
// at all: @azure/core-paging treats the missing first page as a page that
// is not an array. That is the SDK's behaviour against Azure as well.)
async function listAll(rm) {
  const out = [];
  for await (const page of rm.listRules().byPage()) out.push(...page);
  return out;
}

async function topicWithSubscriptions(prefix, subs, subOptions = {}) {
  const topic = uniqueName(prefix);
  await c.admin.createTopic(topic);
  for (const s of subs) await c.admin.createSubscription(topic, s, subOptions[s] ?? {});
  return topic;
}

test("rule manager: create, list and delete rules over AMQP", T, async () => {
  const topic = await topicWithSubscriptions("rules", ["s"]);
  const rm = c.sb.createRuleManager(topic, "s");
  try {
    let rules = await listAll(rm);
    assert.equal(rules.length, 1);
    assert.equal(rules[0].name, "$Default");
    assert.deepEqual(rules[0].filter, { sqlExpression: "1=1" });

    await rm.createRule("red", { sqlExpression: "color = 'red' AND quantity > 10" });
    await rm.createRule("corr", { correlationId: "c1", subject: "lbl", applicationProperties: { region: "eu", n: 5 } });
    await rm.createRule("act", { sqlExpression: "quantity > 10" }, { sqlExpression: "SET quantity = quantity + 1" });

    rules = await listAll(rm);
    assert.deepEqual(rules.map((r) => r.name), ["$Default", "red", "corr", "act"]);
    assert.equal(rules[1].filter.sqlExpression, "color = 'red' AND quantity > 10");
    assert.deepEqual(rules[1].action, {});
    const corr = rules[2].filter;
    assert.equal(corr.correlationId, "c1");
    assert.equal(corr.subject, "lbl");
    assert.equal(corr.messageId ?? null, null); // absent fields are nulls on the wire, as Service Bus sends them
    assert.deepEqual(corr.applicationProperties, { region: "eu", n: 5 });
    assert.equal(rules[3].action.sqlExpression, "SET quantity = quantity + 1");

    // The administration API sees the rules made over AMQP.
    const viaAdmin = await c.admin.getRule(topic, "s", "red");
    assert.equal(viaAdmin.filter.sqlExpression, "color = 'red' AND quantity > 10");

    // Paging through enumerate-rules (top/skip).
    const pages = [];
    for await (const page of rm.listRules().byPage({ maxPageSize: 3 })) pages.push(page.map((r) => r.name));
    assert.deepEqual(pages, [["$Default", "red", "corr"], ["act"]]);

    // A duplicate name (rule names are case-insensitive) is refused.
    await assert.rejects(rm.createRule("RED", { sqlExpression: "1=1" }), (err) => {
      assert.equal(err.code, "MessagingEntityAlreadyExists", `${err.code}: ${err.message}`);
      return true;
    });

    await rm.deleteRule("$Default");
    await rm.deleteRule("corr");
    await assert.rejects(rm.deleteRule("corr"), (err) => {
      assert.equal(err.code, "MessagingEntityNotFound", `${err.code}: ${err.message}`);
      return true;
    });
    rules = await listAll(rm);
    assert.deepEqual(rules.map((r) => r.name), ["red", "act"]);

    await rm.deleteRule("red");
    await rm.deleteRule("act");
    assert.deepEqual(await listAll(rm), []);
  } finally {
    // A rule manager has no close(): it uses the client's connection.
  }
});

test("subscriptions receive what their AMQP-created rules select", T, async () => {
  const topic = await topicWithSubscriptions("route", ["reds", "eu", "all"]);
  const reds = c.sb.createRuleManager(topic, "reds");
  const eu = c.sb.createRuleManager(topic, "eu");
  try {
    await reds.deleteRule("$Default");
    await reds.createRule("red", { sqlExpression: "color = 'red'" });
    await reds.createRule("big", { sqlExpression: "quantity > 10" }, { sqlExpression: "SET quantity = quantity * 2; SET sys.Label = 'big'" });
    await eu.deleteRule("$Default");
    await eu.createRule("eu", { correlationId: "order", applicationProperties: { region: "eu" } });
  } finally {
    // A rule manager has no close(): it uses the client's connection.
  }

  const sender = c.sb.createSender(topic);
  try {
    await sender.sendMessages([
      msg("red-small", { applicationProperties: { color: "red", quantity: 1 } }),
      msg("blue-big", { applicationProperties: { color: "blue", quantity: 20 }, subject: "order" }),
      msg("eu-order", { correlationId: "order", applicationProperties: { region: "eu" } }),
      msg("us-order", { correlationId: "order", applicationProperties: { region: "us" } }),
    ]);
  } finally {
    await sender.close();
  }

  const got = async (sub, n) => {
    const r = c.sb.createReceiver(topic, sub);
    try {
      const msgs = await receiveN(r, n);
      for (const m of msgs) await r.completeMessage(m);
      await expectNone(r);
      return msgs;
    } finally {
      await r.close();
    }
  };
  const red = await got("reds", 2);
  assert.deepEqual(bodies(red).sort(), ["blue-big", "red-small"]);
  const big = red.find((m) => m.body === "blue-big");
  assert.equal(big.applicationProperties.quantity, 40);
  assert.equal(big.applicationProperties.RuleName, "big");
  assert.equal(big.subject, "big");
  const small = red.find((m) => m.body === "red-small");
  assert.equal(small.applicationProperties.RuleName, undefined);
  assert.equal(small.applicationProperties.quantity, 1);

  assert.deepEqual(bodies(await got("eu", 1)), ["eu-order"]);
  assert.deepEqual(bodies(await got("all", 4)).sort(), ["blue-big", "eu-order", "red-small", "us-order"]);
});

test("sessions and the dead-letter queue of a subscription", T, async () => {
  const topic = await topicWithSubscriptions("subsess", ["steps"], { steps: { requiresSession: true } });
  const sender = c.sb.createSender(topic);
  try {
    await sender.sendMessages([msg("a1", { sessionId: "A" }), msg("b1", { sessionId: "B" }), msg("a2", { sessionId: "A" })]);
  } finally {
    await sender.close();
  }
  const ra = await c.sb.acceptSession(topic, "steps", "A", { maxAutoLockRenewalDurationInMs: 0 });
  try {
    const a = await receiveN(ra, 2);
    assert.deepEqual(bodies(a), ["a1", "a2"]);
    await ra.setSessionState("half way");
    assert.equal(await ra.getSessionState(), "half way");
    await ra.completeMessage(a[0]);
    await ra.deadLetterMessage(a[1], { deadLetterReason: "bad step", deadLetterErrorDescription: "step 2 failed" });
  } finally {
    await ra.close();
  }
  const dlq = c.sb.createReceiver(topic, "steps", { subQueueType: "deadLetter" });
  try {
    const [d] = await receiveN(dlq, 1);
    assert.equal(d.body, "a2");
    assert.equal(d.deadLetterReason, "bad step");
    assert.equal(d.deadLetterErrorDescription, "step 2 failed");
    await dlq.completeMessage(d);
  } finally {
    await dlq.close();
  }
  const rn = await c.sb.acceptNextSession(topic, "steps", { maxAutoLockRenewalDurationInMs: 0 });
  try {
    assert.equal(rn.sessionId, "B");
    const [b] = await receiveN(rn, 1);
    assert.equal(b.body, "b1");
    await rn.completeMessage(b);
  } finally {
    await rn.close();
  }
});

test("scheduled messages on a topic reach every subscription; cancelling removes every copy", T, async () => {
  const topic = await topicWithSubscriptions("sched", ["a", "b"]);
  const sender = c.sb.createSender(topic);
  try {
    const later = new Date(Date.now() + 3_600_000);
    const seqs = await sender.scheduleMessages([msg("later-1"), msg("later-2")], later);
    assert.equal(seqs.length, 2);
    for (const sub of ["a", "b"]) {
      const r = c.sb.createReceiver(topic, sub);
      try {
        const peeked = await r.peekMessages(10);
        assert.deepEqual(bodies(peeked), ["later-1", "later-2"]);
        assert.ok(peeked.every((m) => m.state === "scheduled"), JSON.stringify(peeked.map((m) => m.state)));
      } finally {
        await r.close();
      }
    }
    await sender.cancelScheduledMessages(seqs);
    for (const sub of ["a", "b"]) {
      const r = c.sb.createReceiver(topic, sub);
      try {
        assert.deepEqual(await r.peekMessages(10), []);
      } finally {
        await r.close();
      }
    }
  } finally {
    await sender.close();
  }
});

test("a bad SQL filter or action is refused with its position", T, async () => {
  const topic = await topicWithSubscriptions("badsql", ["s"]);
  const rm = c.sb.createRuleManager(topic, "s");
  try {
    await assert.rejects(rm.createRule("bad", { sqlExpression: "color == 'red'" }), (err) => {
      assert.match(err.message, /line 1, column 8/, err.message);
      assert.match(err.message, /near "="/, err.message);
      assert.equal(err.retryable, false, "a syntax error is not retried");
      return true;
    });
    await assert.rejects(rm.createRule("badaction", { sqlExpression: "1=1" }, { sqlExpression: "SET sys.SequenceNumber = 1" }), (err) => {
      assert.match(err.message, /SqlRuleAction/, err.message);
      return true;
    });
    // Nothing was added.
    assert.deepEqual((await listAll(rm)).map((r) => r.name), ["$Default"]);
  } finally {
    // A rule manager has no close(): it uses the client's connection.
  }
  // Receiving from the topic itself is refused.
  const r = c.sb.createReceiver(topic);
  try {
    await assert.rejects(r.receiveMessages(1, { maxWaitTimeInMs: 5_000 }), (err) => {
      assert.match(err.message, /is a topic/, err.message);
      return true;
    });
  } finally {
    await r.close();
  }
});
