/**
 * The live layer over real HTTP and WebSockets with two API processes (and a third to kill):
 * myEvents, typing, presence and read receipts reach the right users on either process, and
 * nobody else.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { AppProcess } from "../scripts/app-process.js";
import {
  befriend,
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  testDatabase,
  wsClient,
  type TestUser,
} from "./support/harness.js";

const prefix = `live-${randomUUID().slice(0, 8)}.`;
const env = {
  DATABASE_URL: inject("databaseUrl"),
  KAFKA_BROKERS: inject("kafkaBrokers"),
  KAFKA_TOPIC_PREFIX: prefix,
  KAFKA_TOPIC_PARTITIONS: "3",
  PRESENCE_HEARTBEAT_MS: "500",
  PRESENCE_TIMEOUT_MS: "2000",
  RATE_LIMIT_SIGNUP_PER_ADDRESS: "1000000",
};
let worker: AppProcess;
let a: AppProcess;
let b: AppProcess;
const ws = (app: AppProcess) => app.url.replace(/^http/, "ws");
const clients: Array<{ dispose(): unknown }> = [];

beforeAll(async () => {
  worker = await AppProcess.start("worker", env);
  [a, b] = await Promise.all([AppProcess.start("api", env), AppProcess.start("api", env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all([a?.stop(), b?.stop(), worker?.stop()]);
});

const FEED = `subscription { myEvents { __typename
  ... on MessageAddedEvent { roomId unreadCount message { seq body sender { id } } }
  ... on MessageUpdatedEvent { roomId change message { seq body editedAt } }
  ... on RoomAddedEvent { roomId room { id name } addedBy { id } }
  ... on MemberLeftEvent { roomId room { id } user { id } removedBy { id } }
  ... on ReadPositionEvent { roomId user { id } lastReadSeq }
  ... on PresenceEvent { user { id } online lastSeenAt }
} }`;
type FeedEvent = { __typename: string; [field: string]: any };
const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { seq } }`;
const TYPING = `mutation($r: ID!, $t: Boolean!) { setTyping(roomId: $r, typing: $t) }`;

function subscribe<T = Record<string, any>>(app: AppProcess, user: TestUser, query: string, variables = {}) {
  const client = wsClient(ws(app), user.token);
  clients.push(client);
  return new TestSubscription<T>(client, query, variables);
}

/** A user's feed on `app`, live: it has shown a message the user sent to a room of their own after subscribing. */
async function liveFeed(app: AppProcess, user: TestUser) {
  const feed = subscribe<{ myEvents: FeedEvent }>(app, user, FEED);
  const own = await createRoom(app.url, user, [], "sentinel");
  for (let i = 0; ; i++) {
    await gqlOk(app.url, SEND, { r: own, b: `ready ${i}` }, user.token);
    try {
      await feed.waitFor((s) => s.data.some((d) => d.myEvents.roomId === own), 1000, "the sentinel");
      return { feed, events: () => feed.data.map((d) => d.myEvents).filter((e) => e.roomId !== own) };
    } catch (error) {
      if (i >= 20) throw error;
    }
  }
}

it("delivers every feed event to the room's members on either API process, and nothing to anyone else", async () => {
  const [dave, alice, bob, carol] = await Promise.all([signUp(a.url), signUp(a.url), signUp(a.url), signUp(a.url)]);
  const [aliceFeed, bobFeed, carolFeed] = await Promise.all([liveFeed(a, alice), liveFeed(b, bob), liveFeed(b, carol)]);
  const room = await createRoom(a.url, dave, [alice, bob], "team");
  const waitBoth = (what: string, predicate: (e: FeedEvent) => boolean) =>
    Promise.all(
      [aliceFeed, bobFeed].map(({ feed, events }) => feed.waitFor(() => events().some(predicate), 20_000, what)),
    );
  await waitBoth("RoomAdded", (e) => e.__typename === "RoomAddedEvent" && e.roomId === room);
  expect(bobFeed.events()[0]).toEqual({
    __typename: "RoomAddedEvent",
    roomId: room,
    room: { id: room, name: "team" },
    addedBy: { id: dave.id },
  });

  await gqlOk(a.url, SEND, { r: room, b: "one" }, dave.token);
  await gqlOk(a.url, SEND, { r: room, b: "two" }, dave.token);
  await waitBoth("both messages", (e) => e.message?.seq === 2);
  for (const { events } of [aliceFeed, bobFeed]) {
    const messages = events().filter((e) => e.__typename === "MessageAddedEvent");
    expect(messages.map((m) => [m.message.body, m.unreadCount])).toEqual([
      ["one", 1],
      ["two", 2],
    ]);
  }

  const [one] = (await gqlOk(a.url, `query($r: ID!) { room(id: $r) { messages { id } } }`, { r: room }, dave.token))
    .room.messages;
  await gqlOk(
    a.url,
    `mutation($m: ID!) { editMessage(messageId: $m, body: "one, edited") { id } }`,
    {
      m: one.id,
    },
    dave.token,
  );
  await waitBoth("the edit", (e) => e.__typename === "MessageUpdatedEvent");
  expect(bobFeed.events().find((e) => e.__typename === "MessageUpdatedEvent")).toMatchObject({
    roomId: room,
    change: "edited",
    message: { seq: 1, body: "one, edited", editedAt: expect.any(String) },
  });

  await gqlOk(a.url, `mutation($r: ID!) { markRead(roomId: $r, seq: 2) { id } }`, { r: room }, alice.token);
  await waitBoth("Alice's read receipt", (e) => e.__typename === "ReadPositionEvent" && e.user.id === alice.id);
  expect(bobFeed.events().find((e) => e.__typename === "ReadPositionEvent")).toMatchObject({
    roomId: room,
    lastReadSeq: 2,
  });
  const positions = await gqlOk(
    b.url,
    `query($r: ID!) { room(id: $r) { readPositions { user { id } lastReadSeq } } }`,
    { r: room },
    bob.token,
  );
  expect(positions.room.readPositions).toEqual(
    expect.arrayContaining([
      { user: { id: dave.id }, lastReadSeq: 2 }, // a sender has read what they sent
      { user: { id: alice.id }, lastReadSeq: 2 },
      { user: { id: bob.id }, lastReadSeq: 0 },
    ]),
  );

  await gqlOk(
    a.url,
    `mutation($r: ID!, $u: ID!) { removeMember(roomId: $r, userId: $u) { id } }`,
    {
      r: room,
      u: bob.id,
    },
    dave.token,
  );
  await waitBoth("Bob's removal", (e) => e.__typename === "MemberLeftEvent");
  expect(bobFeed.events().find((e) => e.__typename === "MemberLeftEvent")).toEqual({
    __typename: "MemberLeftEvent",
    roomId: room,
    room: null, // no longer his
    user: { id: bob.id },
    removedBy: { id: dave.id },
  });
  await gqlOk(a.url, SEND, { r: room, b: "three" }, dave.token);
  await aliceFeed.feed.waitFor(() => aliceFeed.events().some((e) => e.message?.body === "three"), 20_000, "three");
  // A later event of Bob's own shows his process has gone past "three".
  const later = await createRoom(b.url, bob, [], "later");
  await gqlOk(b.url, SEND, { r: later, b: "after three" }, bob.token);
  await bobFeed.feed.waitFor(() => bobFeed.events().some((e) => e.roomId === later), 20_000, "Bob's later message");
  expect(bobFeed.events().some((e) => e.message?.body === "three")).toBe(false);
  expect(carolFeed.events()).toEqual([]);
});

it("sends typing to the room's other members across API processes, coalesced, and lapses it after 6 s", async () => {
  const [alice, bob, carol] = await Promise.all([signUp(a.url), signUp(a.url), signUp(a.url)]);
  const room = await createRoom(a.url, alice, [bob]);
  const typing = subscribe<{ typing: { user: { id: string }; typing: boolean } }>(
    b,
    bob,
    `subscription($r: ID!) { typing(roomId: $r) { user { id } typing } }`,
    { r: room },
  );
  const outsider = subscribe(b, carol, `subscription($r: ID!) { typing(roomId: $r) { typing } }`, { r: room });
  await outsider.waitFor((s) => s.completed, 20_000, "the outsider's refusal");
  expect(outsider.results[0]?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  expect(errorCode(await gql(a.url, TYPING, { r: room, t: true }, carol.token))).toBe("FORBIDDEN");

  // Live once a start reaches Bob (a stop in between makes each start a change worth sending).
  for (let i = 0; !typing.data.some((d) => d.typing.typing); i++) {
    await gqlOk(a.url, TYPING, { r: room, t: true }, alice.token);
    await typing
      .waitFor((s) => s.data.some((d) => d.typing.typing), 500)
      .catch(async () => {
        await gqlOk(a.url, TYPING, { r: room, t: false }, alice.token);
        if (i > 20) throw new Error("typing never arrived");
      });
  }
  const started = typing.data.length;
  for (let i = 0; i < 30; i++) await gqlOk(a.url, TYPING, { r: room, t: true }, alice.token); // keystrokes
  const lapsedAt = Date.now();
  await typing.waitFor((s) => s.data.at(-1)?.typing.typing === false, 15_000, "the lapse");
  expect(Date.now() - lapsedAt).toBeGreaterThan(2000); // held while repeated, then about 6 s after the first
  const after = typing.data.slice(started);
  expect(after.filter((d) => d.typing.typing)).toHaveLength(0); // 30 repeats within 3 s published nothing
  expect(after.at(-1)).toEqual({ typing: { user: { id: alice.id }, typing: false } });

  const db = testDatabase();
  try {
    const [logged] = await db`select count(*) filter (where payload->>'type' = 'Typing')::int as typing,
      count(*) filter (where payload->>'type' = 'RoomCreated')::int as rooms
      from event_log where topic = ${`${prefix}chat.events`}`;
    expect(logged).toMatchObject({ typing: 0 });
    expect(logged!.rooms).toBeGreaterThan(0); // the log itself is running
  } finally {
    await db.end();
  }
});

it("shows presence across API processes to the friends a user added, and ends it when their process dies", async () => {
  const [alice, bob, carol] = await Promise.all([signUp(a.url), signUp(a.url), signUp(a.url)]);
  await befriend(a.url, alice, [bob]); // Bob may see Alice's presence; Carol may not.
  const [bobFeed, carolFeed] = await Promise.all([liveFeed(b, bob), liveFeed(b, carol)]);
  const presence = () => bobFeed.events().filter((e) => e.__typename === "PresenceEvent" && e.user.id === alice.id);
  const ONLINE = `query($u: ID!) { user(id: $u) { online lastSeenAt } }`;

  const c = await AppProcess.start("api", env);
  try {
    const aliceSocket = wsClient(ws(c), alice.token);
    const aliceFeed = new TestSubscription(aliceSocket, FEED, {}); // any subscription opens the socket
    await bobFeed.feed.waitFor(() => presence().length === 1, 20_000, "Alice online");
    expect(presence()[0]).toMatchObject({ online: true, lastSeenAt: null });
    expect((await gqlOk(b.url, ONLINE, { u: alice.id }, bob.token)).user.online).toBe(true);
    expect((await gqlOk(b.url, ONLINE, { u: alice.id }, carol.token)).user).toEqual({
      online: false,
      lastSeenAt: null,
    });

    aliceFeed.close();
    await aliceSocket.dispose();
    await bobFeed.feed.waitFor(() => presence().length === 2, 20_000, "Alice offline");
    expect(presence()[1]).toMatchObject({ online: false, lastSeenAt: expect.any(String) });
    expect((await gqlOk(b.url, ONLINE, { u: alice.id }, bob.token)).user).toMatchObject({ online: false });

    const again = wsClient(ws(c), alice.token);
    clients.push(again);
    new TestSubscription(again, FEED, {});
    await bobFeed.feed.waitFor(() => presence().length === 3, 20_000, "Alice online again");
    await c.kill();
    const killedAt = Date.now();
    await bobFeed.feed.waitFor(() => presence().length === 4, 20_000, "Alice offline after her process died");
    expect(presence()[3]).toMatchObject({ online: false });
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  } finally {
    await c.kill();
  }
  expect(carolFeed.events().filter((e) => e.__typename === "PresenceEvent")).toEqual([]);
});
