/**
 * Shared execution (one execution per event and selection, see src/api/sharedExecution.ts)
 * must never hand one user's view to another, nor serve an earlier event's result for a
 * later event about the same entity.
 */
import { parse, type ExecutionResult } from "graphql";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { expect, it } from "vitest";
import { identifyEvent } from "../src/commands/eventIdentity.js";
import { buildSchema } from "../src/api/schema.js";
import { loadApiFeatures } from "../src/api/services.js";
import { createSharedSubscribe, viewerDependentFields } from "../src/api/sharedExecution.js";
import { befriend, createRoom, gqlOk, signUp, TestSubscription, useTestApp, wsClient } from "./support/harness.js";

const t = useTestApp();

it("reads the fields that depend on the viewer or the subscription from the SDL's directives", async () => {
  const fields = viewerDependentFields(buildSchema(await loadApiFeatures()));
  for (const field of ["User.lastLoginAt", "User.friends", "Room.unreadCount", "Room.lastReadSeq", "Room.messages"])
    expect(fields.get(field)).toBe("perViewer");
  expect(fields.get("MessageAddedEvent.cursor")).toBe("perSubscription");
  expect(fields.has("Message.body")).toBe(false);
});

it("never shares a per-viewer field between two subscribers of the same room", async () => {
  const [dave, alice, bob, carol] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, dave, [alice, bob, carol]);
  await befriend(t.url, alice, [bob]); // Bob may see when Alice last logged in; Carol may not.
  await gqlOk(t.url, `mutation($u: String!) { logIn(username: $u, password: "correct horse battery") { token } }`, {
    u: alice.username,
  });
  await gqlOk(t.url, `mutation($r: ID!) { sendMessage(roomId: $r, body: "hello") { seq } }`, { r: room }, dave.token);
  const query = `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { body sender { id lastLoginAt } } }`;
  const subscribers = [bob, carol].map((user) => {
    const client = wsClient(t.wsUrl, user.token);
    return { client, sub: new TestSubscription(client, query, { r: room }) };
  });
  // The replayed first message shows each subscription is live: the next arrives as an event.
  await Promise.all(subscribers.map(({ sub }) => sub.waitFor((s) => s.data.length === 1, 20_000, "the replay")));
  await gqlOk(
    t.url,
    `mutation($r: ID!) { sendMessage(roomId: $r, body: "from alice") { seq } }`,
    { r: room },
    alice.token,
  );
  const fromAlice = async (sub: TestSubscription) => {
    await sub.waitFor((s) => s.data.some((d) => d.messageAdded.body === "from alice"), 20_000, "Alice's message");
    return sub.data.find((d) => d.messageAdded.body === "from alice")!.messageAdded.sender;
  };
  const [seenByBob, seenByCarol] = await Promise.all(subscribers.map(({ sub }) => fromAlice(sub)));
  expect(seenByBob.lastLoginAt).not.toBeNull();
  expect(seenByCarol.lastLoginAt).toBeNull();
  await Promise.all(subscribers.map(({ client }) => client.dispose()));
});

it("executes each event anew, even about an entity it has seen (an edited message is never served stale)", async () => {
  const schema = makeExecutableSchema({
    typeDefs: `type Query { ok: Boolean } type Message { id: ID! body: String! } type Subscription { updated: Message! }`,
    resolvers: {
      Subscription: {
        updated: {
          subscribe: async function* (_: unknown, __: unknown, ctx: { events: object[] }) {
            for (const event of ctx.events) yield event;
          },
          resolve: (message: unknown) => message,
        },
      },
    },
  });
  const original = { id: "m1", body: "first version" };
  const edited = { id: "m1", body: "edited" };
  identifyEvent(original);
  identifyEvent(edited);
  const subscribe = createSharedSubscribe(schema, { maxEventBytes: 1_000_000, charge: () => {} });
  const document = parse(`subscription { updated { id body } }`);
  const bodies = async () => {
    const stream = (await subscribe({
      schema,
      document,
      contextValue: { events: [original, edited] },
    })) as AsyncIterable<ExecutionResult>;
    const seen: unknown[] = [];
    for await (const result of stream) seen.push((result.data as { updated: { body: string } }).updated.body);
    return seen;
  };
  expect(await bodies()).toEqual(["first version", "edited"]);
  expect(await bodies()).toEqual(["first version", "edited"]); // the second subscriber shares both results
});
