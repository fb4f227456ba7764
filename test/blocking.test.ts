/** Blocking over real HTTP, WebSockets, Kafka and PostgreSQL. */
import { expect, it } from "vitest";
import {
  befriend,
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  useTestApp,
  wsClient,
  type TestUser,
} from "./support/harness.js";

const t = useTestApp();

const BLOCK = `mutation($u: ID!) { blockUser(userId: $u) }`;
const UNBLOCK = `mutation($u: ID!) { unblockUser(userId: $u) }`;
const BLOCKED = `query { blockedUsers { id } }`;
const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id seq } }`;
const ADD_FRIEND = `mutation($u: [ID!]!) { addFriends(userIds: $u) { id } }`;
const DIRECT = `mutation($u: ID!) { directRoom(userId: $u) { id } }`;

const call = (user: TestUser, query: string, variables: Record<string, unknown>) =>
  gql(t.url, query, variables, user.token);

it("refuses what a blocked user tries to reach the blocker with, and nothing more tells them", async () => {
  const [alice, bob, carol] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  await befriend(t.url, bob, [alice, carol]);
  expect((await gqlOk(t.url, BLOCK, { u: bob.id }, alice.token)).blockUser).toBe(true);
  expect((await gqlOk(t.url, BLOCK, { u: bob.id }, alice.token)).blockUser).toBe(true);
  expect((await gqlOk(t.url, BLOCKED, {}, alice.token)).blockedUsers).toEqual([{ id: bob.id }]);

  // The block ended Bob's friendship with Alice, and he cannot make it again.
  const friends = `query { me { friends { id } } }`;
  expect((await gqlOk(t.url, friends, {}, bob.token)).me.friends).toEqual([{ id: carol.id }]);
  const refusal = await call(bob, ADD_FRIEND, { u: [alice.id] });
  expect(errorCode(refusal)).toBe("FORBIDDEN");
  expect(refusal.errors![0]!.message).not.toMatch(/block/i);
  expect(errorCode(await call(bob, DIRECT, { u: alice.id }))).toBe("FORBIDDEN");
  expect(errorCode(await call(bob, `mutation($u: ID!) { blockUser(userId: $u) }`, { u: bob.id }))).toBe(
    "BAD_USER_INPUT",
  );
  // Bob can still reach others.
  expect(errorCode(await call(bob, DIRECT, { u: carol.id }))).toBeUndefined();

  expect((await gqlOk(t.url, UNBLOCK, { u: bob.id }, alice.token)).unblockUser).toBe(true);
  expect((await gqlOk(t.url, UNBLOCK, { u: bob.id }, alice.token)).unblockUser).toBe(false);
  await befriend(t.url, bob, [alice]);
  expect(errorCode(await call(bob, DIRECT, { u: alice.id }))).toBeUndefined();
});

it("keeps a blocked sender's messages from the blocker's streams and marks them in history", async () => {
  const [alice, bob, carol] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, carol, [alice, bob]);
  await gqlOk(t.url, BLOCK, { u: bob.id }, alice.token);
  const client = wsClient(t.wsUrl, alice.token);
  try {
    const stream = new TestSubscription<{ messageAdded: { body: string } }>(
      client,
      `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { body } }`,
      { r: room },
    );
    const feed = new TestSubscription<{ myEvents: { message?: { body: string } } }>(
      client,
      `subscription { myEvents { ... on MessageAddedEvent { message { body } } } }`,
      {},
    );
    // Live once Carol's messages arrive on both.
    for (let i = 0, live = false; !live; i++) {
      await gqlOk(t.url, SEND, { r: room, b: `carol ${i}` }, carol.token);
      live = await Promise.all([
        stream.waitFor((s) => s.data.some((d) => d.messageAdded.body === `carol ${i}`), 1000),
        feed.waitFor((s) => s.data.some((d) => d.myEvents.message?.body === `carol ${i}`), 1000),
      ]).then(
        () => true,
        () => false,
      );
    }
    await gqlOk(t.url, SEND, { r: room, b: "from bob" }, bob.token);
    await gqlOk(t.url, SEND, { r: room, b: "carol after bob" }, carol.token);
    await stream.waitFor((s) => s.data.some((d) => d.messageAdded.body === "carol after bob"));
    await feed.waitFor((s) => s.data.some((d) => d.myEvents.message?.body === "carol after bob"));
    expect(stream.data.map((d) => d.messageAdded.body)).not.toContain("from bob");
    expect(feed.data.map((d) => d.myEvents.message?.body)).not.toContain("from bob");

    const HISTORY = `query($r: ID!) { room(id: $r) { messages { body senderBlocked } } }`;
    const seen = (await gqlOk(t.url, HISTORY, { r: room }, alice.token)).room.messages;
    expect(seen.find((m: { body: string }) => m.body === "from bob")).toEqual({
      body: "from bob",
      senderBlocked: true,
    });
    const byCarol = (await gqlOk(t.url, HISTORY, { r: room }, carol.token)).room.messages;
    expect(byCarol.find((m: { body: string }) => m.body === "from bob").senderBlocked).toBe(false);
  } finally {
    await client.dispose();
  }
});
