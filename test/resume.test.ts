/**
 * Resumable feeds over real Kafka and PostgreSQL, with two API processes and a worker: a
 * client that was offline while others changed things resumes with its last cursor and gets
 * exactly those changes, in order, once, then live events; on another API process, and on one
 * restarted meanwhile.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { AppProcess } from "../scripts/app-process.js";
import {
  befriend,
  createRoom,
  gqlOk,
  processEnv,
  signUp,
  TestSubscription,
  wsClient,
  type TestUser,
} from "./support/harness.js";

const env = processEnv("resume", { KAFKA_TOPIC_PARTITIONS: "3" });
let worker: AppProcess;
let a: AppProcess;
let b: AppProcess;
const clients: Array<{ dispose(): unknown }> = [];

beforeAll(async () => {
  worker = await AppProcess.start("worker", env);
  [a, b] = await Promise.all([AppProcess.start("api", env), AppProcess.start("api", env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await Promise.all([a?.stop(), b?.stop(), worker?.stop()]);
});

const FEED = `subscription($after: String) { myEvents(after: $after) { __typename
  ... on MessageAddedEvent { cursor roomId message { body } }
  ... on MessageUpdatedEvent { cursor roomId change message { body deletedAt } }
  ... on RoomAddedEvent { cursor roomId }
  ... on MemberLeftEvent { cursor roomId user { id } }
  ... on ReadPositionEvent { cursor roomId user { id } lastReadSeq }
  ... on MentionedEvent { cursor roomId message { body } }
  ... on PresenceEvent { cursor }
} }`;
type FeedEvent = { __typename: string; cursor: string; [field: string]: any };
const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id seq } }`;
const ws = (app: AppProcess) => app.url.replace(/^http/, "ws");

function feed(app: AppProcess, user: TestUser, after?: string) {
  const client = wsClient(ws(app), user.token);
  clients.push(client);
  const sub = new TestSubscription<{ myEvents: FeedEvent }>(client, FEED, after ? { after } : {});
  // Presence comes and goes on its own: what is compared here is the stored changes.
  const events = () => sub.data.map((d) => d.myEvents).filter((e) => e.__typename !== "PresenceEvent");
  return { client, sub, events };
}

/** A feed on `app` that is live: it has shown a message sent to the user's own room after subscribing. */
async function liveFeed(app: AppProcess, user: TestUser) {
  const own = await createRoom(app.url, user, [], "sentinel");
  const f = feed(app, user);
  for (let i = 0; ; i++) {
    await gqlOk(app.url, SEND, { r: own, b: `ready ${i}` }, user.token);
    const live = await f.sub
      .waitFor((s) => s.data.some((d) => d.myEvents.roomId === own), 1000)
      .then(
        () => true,
        () => false,
      );
    if (live) return f;
    if (i >= 20) throw new Error("the feed never went live");
  }
}

/**
 * Changes made while Bob is away: what his resumed feed must show, in this order. A replay
 * shows each message as it is now (an edited one with its new body, a deleted one as a
 * tombstone), then what happened to it.
 */
async function changeThingsWhileAway(alice: TestUser, bob: TestUser, carol: TestUser, room: string) {
  const mutate = (query: string, variables: Record<string, unknown>) => gqlOk(a.url, query, variables, alice.token);
  const send = async (body: string) => (await mutate(SEND, { r: room, b: body })).sendMessage;
  const [first, second, third] = [await send("first"), await send(`second @${bob.username}`), await send("third")];
  await mutate(`mutation($m: ID!) { editMessage(messageId: $m, body: "first, edited") { id } }`, { m: first.id });
  await mutate(`mutation($m: ID!) { react(messageId: $m, emoji: "👍") { id } }`, { m: first.id });
  await mutate(`mutation($m: ID!) { pinMessage(messageId: $m) { id } }`, { m: second.id });
  await mutate(`mutation($m: ID!) { deleteMessage(messageId: $m) { id } }`, { m: third.id });
  await mutate(`mutation($r: ID!, $u: ID!) { removeMember(roomId: $r, userId: $u) { id } }`, { r: room, u: carol.id });
  await mutate(`mutation($r: ID!, $s: Int!) { markRead(roomId: $r, seq: $s) { id } }`, { r: room, s: third.seq });
  const secondRoom = await createRoom(a.url, alice, [bob], "new room");
  return [
    ["MessageAddedEvent", room, "first, edited"],
    ["MessageAddedEvent", room, "second"],
    ["MentionedEvent", room, "second"],
    ["MessageAddedEvent", room, ""],
    ["MessageUpdatedEvent", room, "edited"],
    ["MessageUpdatedEvent", room, "reactions"],
    ["MessageUpdatedEvent", room, "pinned"],
    ["MessageUpdatedEvent", room, "deleted"],
    ["MemberLeftEvent", room, carol.id],
    ["ReadPositionEvent", room, alice.id],
    ["RoomAddedEvent", secondRoom, ""],
  ];
}

/** An event as the expectations above name it. */
const summary = (e: FeedEvent) => [
  e.__typename,
  e.roomId,
  e.change ?? e.user?.id ?? (e.message ? e.message.body.split(" @")[0] : ""),
];

async function scenario(resumeOn: () => Promise<AppProcess>) {
  const [alice, bob, carol] = await Promise.all([signUp(a.url), signUp(a.url), signUp(a.url)]);
  await befriend(a.url, alice, [bob, carol]);
  const room = await createRoom(a.url, alice, [bob, carol], "team");
  const before = await liveFeed(a, bob);
  await gqlOk(a.url, SEND, { r: room, b: "before" }, alice.token);
  await before.sub.waitFor(() => before.events().some((e) => e.message?.body === "before"));
  const cursor = before.events().at(-1)!.cursor;
  await before.client.dispose();

  const expected = await changeThingsWhileAway(alice, bob, carol, room);
  const app = await resumeOn();
  const resumed = feed(app, bob, cursor);
  await resumed.sub.waitFor(() => resumed.events().length >= expected.length, 20_000, "the replay");
  expect(resumed.events().map(summary)).toEqual(expected);
  // Then live, from where the replay ended: nothing twice.
  await gqlOk(a.url, SEND, { r: room, b: "after" }, alice.token);
  await resumed.sub.waitFor(() => resumed.events().some((e) => e.message?.body === "after"));
  expect(resumed.events().map(summary)).toEqual([...expected, ["MessageAddedEvent", room, "after"]]);

  // Resuming from the middle of the replay gives the rest, once.
  const middle = resumed.events()[5]!.cursor;
  const again = feed(b, bob, middle);
  await again.sub.waitFor(() => again.events().some((e) => e.message?.body === "after"));
  expect(again.events().map(summary)).toEqual([...expected.slice(6), ["MessageAddedEvent", room, "after"]]);
}

it("replays what a client missed on another API process, then goes on live with no gap or repeat", async () => {
  await scenario(async () => b);
});

it("resumes on an API process restarted while the client was away", async () => {
  await scenario(async () => {
    await b.stop();
    b = await AppProcess.start("api", env);
    return b;
  });
}, 120_000);

it("replays one room's changes to messageUpdated from a feed cursor", async () => {
  const [alice, bob] = await Promise.all([signUp(a.url), signUp(a.url)]);
  const room = await createRoom(a.url, alice, [bob]);
  const before = await liveFeed(a, bob);
  const sent = (await gqlOk(a.url, SEND, { r: room, b: "to change" }, alice.token)).sendMessage;
  await before.sub.waitFor(() => before.events().some((e) => e.message?.body === "to change"));
  const cursor = before.events().at(-1)!.cursor;
  await gqlOk(
    a.url,
    `mutation($m: ID!) { editMessage(messageId: $m, body: "changed") { id } }`,
    { m: sent.id },
    alice.token,
  );
  await gqlOk(
    a.url,
    `mutation($r: ID!, $p: ID) { sendMessage(roomId: $r, body: "a reply", parentId: $p) { id } }`,
    { r: room, p: sent.id },
    alice.token,
  );
  const client = wsClient(ws(b), bob.token);
  clients.push(client);
  const updates = new TestSubscription<{ messageUpdated: { id: string; body: string; replyCount: number } }>(
    client,
    `subscription($r: ID!, $after: String) { messageUpdated(roomId: $r, after: $after) { id body replyCount } }`,
    { r: room, after: cursor },
  );
  await updates.waitFor((u) => u.data.length >= 2);
  expect(updates.data.map((d) => d.messageUpdated)).toEqual([
    { id: sent.id, body: "changed", replyCount: 1 },
    { id: sent.id, body: "changed", replyCount: 1 },
  ]);
});

it("refuses a cursor it did not hand out, and one older than the retention, with clear codes", async () => {
  const bob = await signUp(a.url);
  const room = await createRoom(a.url, bob, []);
  const refusal = async (query: string, variables: Record<string, unknown>) => {
    const client = wsClient(ws(a), bob.token);
    clients.push(client);
    const sub = new TestSubscription(client, query, variables);
    await sub.waitFor((s) => s.completed, 20_000, "the refusal");
    return sub.results[0]?.errors?.[0]?.extensions?.code;
  };
  const UPDATES = `subscription($r: ID!, $after: String) { messageUpdated(roomId: $r, after: $after) { id } }`;
  const old = Buffer.from(`f1|${Math.floor(Date.now() / 1000) - 8 * 24 * 3600}|0:1:0`).toString("base64url");
  expect(await refusal(FEED, { after: "not a cursor" })).toBe("BAD_USER_INPUT");
  expect(await refusal(FEED, { after: old })).toBe("CURSOR_EXPIRED");
  expect(await refusal(UPDATES, { r: room, after: "not a cursor" })).toBe("BAD_USER_INPUT");
  expect(await refusal(UPDATES, { r: room, after: old })).toBe("CURSOR_EXPIRED");
});
