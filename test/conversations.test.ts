/**
 * Threads, quoted replies, mentions and notification levels over real HTTP, WebSockets, Kafka
 * and PostgreSQL.
 */
import { expect, it } from "vitest";
import {
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

const SEND = `mutation($r: ID!, $b: String!, $p: ID, $q: ID) {
  sendMessage(roomId: $r, body: $b, parentId: $p, quotedMessageId: $q) { id seq parentId mentions { id } }
}`;
const THREAD = `query($m: ID!, $r: ID!, $last: Int, $before: Int) {
  replies(parentId: $m, last: $last, beforeSeq: $before) { id seq body parentId }
  room(id: $r) {
    messages { id replyCount lastReplyAt replyParticipants { id } unreadReplyCount }
  }
}`;
const FEED = `subscription { myEvents { __typename
  ... on MessageAddedEvent { roomId notify message { id mentions { id } } }
  ... on MentionedEvent { roomId notify message { id body } }
} }`;

type Sent = { id: string; seq: number; parentId: string | null; mentions: Array<{ id: string }> };
const send = async (user: TestUser, r: string, b: string, extra: { p?: string; q?: string } = {}) =>
  (await gqlOk<{ sendMessage: Sent }>(t.url, SEND, { r, b, ...extra }, user.token)).sendMessage;

it("keeps replies in their thread, with a summary counted for each viewer and a gapless seq", async () => {
  const [alice, bob, carol] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, alice, [bob, carol]);
  const parent = await send(alice, room, "what shall we eat?");
  const replies = [];
  for (const [who, body] of [
    [bob, "pizza"],
    [carol, "soup"],
    [bob, "pizza again"],
  ] as const)
    replies.push(await send(who, room, body, { p: parent.id }));
  const after = await send(alice, room, "next topic");
  expect([parent, ...replies, after].map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);

  const view = (user: TestUser, vars: object = {}) =>
    gqlOk(t.url, THREAD, { m: parent.id, r: room, ...vars }, user.token);
  const seenByAlice = await view(alice);
  expect(seenByAlice.replies.map((m: { body: string }) => m.body)).toEqual(["pizza", "soup", "pizza again"]);
  // The main timeline holds top-level messages only.
  expect(seenByAlice.room.messages.map((m: { id: string }) => m.id)).toEqual([parent.id, after.id]);
  expect(seenByAlice.room.messages[0]).toMatchObject({
    replyCount: 3,
    replyParticipants: [{ id: bob.id }, { id: carol.id }],
    // Alice sent the parent: she takes part, and has read none of the replies.
    unreadReplyCount: 3,
  });
  // Carol replied at seq 3: only Bob's later reply is unread for her.
  expect((await view(carol)).room.messages[0].unreadReplyCount).toBe(1);
  // Paged like a room's messages.
  expect((await view(bob, { last: 1, before: 4 })).replies.map((m: { seq: number }) => m.seq)).toEqual([3]);

  const read = `mutation($m: ID!, $s: Int!) { markThreadRead(parentId: $m, seq: $s) { id unreadReplyCount } }`;
  expect((await gqlOk(t.url, read, { m: parent.id, s: 3 }, alice.token)).markThreadRead.unreadReplyCount).toBe(1);
  expect((await view(alice)).room.messages[0].unreadReplyCount).toBe(1);
});

it("announces each reply's thread summary on the parent as a messageUpdated, and counts concurrent sends", async () => {
  const [alice, bob, carol] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, alice, [bob, carol]);
  const parent = await send(alice, room, "thread");
  const client = wsClient(t.wsUrl, alice.token);
  try {
    const updates = new TestSubscription<{ messageUpdated: { id: string; replyCount: number } }>(
      client,
      `subscription($r: ID!) { messageUpdated(roomId: $r) { id replyCount } }`,
      { r: room },
    );
    for (let live = false; !live;) {
      await send(carol, room, "warming up", { p: parent.id });
      live = await updates
        .waitFor((u) => u.data.length > 0, 1000)
        .then(
          () => true,
          () => false,
        );
    }
    const before = updates.data.at(-1)!.messageUpdated.replyCount;
    const concurrent = 20;
    await Promise.all(
      Array.from({ length: concurrent }, (_, i) =>
        send(i % 2 ? carol : alice, room, `reply ${i} for @${bob.username}`, { p: parent.id }),
      ),
    );
    const total = before + concurrent;
    await updates.waitFor((u) => u.data.some((d) => d.messageUpdated.replyCount === total));
    expect(updates.data.every((d) => d.messageUpdated.id === parent.id)).toBe(true);
    const COUNTS = `query($r: ID!) { room(id: $r) { unreadCount mentionCount } }`;
    expect((await gqlOk(t.url, COUNTS, { r: room }, bob.token)).room).toEqual({
      unreadCount: total + 1,
      mentionCount: concurrent,
    });
  } finally {
    await client.dispose();
  }
});

it("refuses a reply to a reply and references outside the room, and quotes a tombstone as deleted", async () => {
  const [alice, bob, mallory] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, alice, [bob]);
  const malloryRoom = await createRoom(t.url, mallory, []);
  const secret = await send(alice, room, "a secret");
  const reply = await send(bob, room, "a reply", { p: secret.id });
  const refusal = async (user: TestUser, r: string, extra: object) =>
    errorCode(await gql(t.url, SEND, { r, b: "x", ...extra }, user.token));
  expect(await refusal(bob, room, { p: reply.id })).toBe("BAD_USER_INPUT");
  // Mallory cannot thread or quote into a room she is not in, nor learn that the message exists.
  expect(await refusal(mallory, malloryRoom, { p: secret.id })).toBe("NOT_FOUND");
  expect(await refusal(mallory, malloryRoom, { q: secret.id })).toBe("NOT_FOUND");
  expect(await refusal(mallory, malloryRoom, { q: "not-an-id" })).toBe("NOT_FOUND");
  const thread = `query($m: ID!) { replies(parentId: $m) { id } }`;
  expect(errorCode(await gql(t.url, thread, { m: secret.id }, mallory.token))).toBe("FORBIDDEN");

  const quoting = await send(bob, room, "quoting", { q: secret.id });
  const QUOTE = `query($r: ID!) { room(id: $r) { messages { id quotedMessage { id body } quotedMessageDeleted } } }`;
  const quoteOf = async () =>
    (await gqlOk(t.url, QUOTE, { r: room }, alice.token)).room.messages.find(
      (m: { id: string }) => m.id === quoting.id,
    );
  expect(await quoteOf()).toMatchObject({
    quotedMessage: { id: secret.id, body: "a secret" },
    quotedMessageDeleted: false,
  });
  await gqlOk(t.url, `mutation($m: ID!) { deleteMessage(messageId: $m) { id } }`, { m: secret.id }, alice.token);
  expect(await quoteOf()).toMatchObject({ quotedMessage: null, quotedMessageDeleted: true });
});

it("finds mentions of members only, counts them apart from unread, and lists them newest first", async () => {
  const [alice, bob, stranger] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, alice, [bob]);
  const first = await send(alice, room, `@${bob.username} and @${stranger.username}, look`);
  expect(first.mentions).toEqual([{ id: bob.id }]);
  const second = await send(alice, room, `again @${bob.username.toUpperCase()}`);
  await send(alice, room, "no mention");
  const COUNTS = `query($r: ID!) { room(id: $r) { unreadCount mentionCount } }`;
  expect((await gqlOk(t.url, COUNTS, { r: room }, bob.token)).room).toEqual({ unreadCount: 3, mentionCount: 2 });
  expect(errorCode(await gql(t.url, COUNTS, { r: room }, stranger.token))).toBe("FORBIDDEN");

  const LIST = `query($after: String) { mentions(first: 1, after: $after) { cursor message { id } } }`;
  const page1 = (await gqlOk(t.url, LIST, {}, bob.token)).mentions;
  expect(page1.map((m: { message: { id: string } }) => m.message.id)).toEqual([second.id]);
  const page2 = (await gqlOk(t.url, LIST, { after: page1[0].cursor }, bob.token)).mentions;
  expect(page2.map((m: { message: { id: string } }) => m.message.id)).toEqual([first.id]);
  expect(errorCode(await gql(t.url, LIST, { after: "forged" }, bob.token))).toBe("BAD_USER_INPUT");
  await gqlOk(
    t.url,
    `mutation($r: ID!, $s: Int!) { markRead(roomId: $r, seq: $s) { id } }`,
    { r: room, s: 1 },
    bob.token,
  );
  expect((await gqlOk(t.url, COUNTS, { r: room }, bob.token)).room).toEqual({ unreadCount: 2, mentionCount: 1 });
});

it("marks feed events with notify by each member's level, once per message", async () => {
  const [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, alice, [bob]);
  const LEVEL = `mutation($r: ID!, $l: NotificationLevel!) { setRoomNotifications(roomId: $r, level: $l) { notificationLevel } }`;
  const client = wsClient(t.wsUrl, bob.token);
  try {
    const feed = new TestSubscription<{ myEvents: Record<string, any> }>(client, FEED, {});
    const events = () => feed.data.map((d) => d.myEvents);
    // Live once a message sent after subscribing shows up.
    for (let live = false; !live;) {
      const probe = await send(alice, room, "probe");
      live = await feed
        .waitFor((s) => s.data.some((d) => d.myEvents.message?.id === probe.id), 1000)
        .then(
          () => true,
          () => false,
        );
    }
    const plain = await send(alice, room, "plain");
    const mention = await send(alice, room, `hey @${bob.username}`);
    await feed.waitFor(() => events().some((e) => e.__typename === "MentionedEvent" && e.message.id === mention.id));
    const of = (id: string) => events().filter((e) => e.message?.id === id);
    expect(of(plain.id)).toMatchObject([{ __typename: "MessageAddedEvent", notify: true }]);
    // The message itself does not notify; its mention does: one notification.
    expect(of(mention.id)).toMatchObject([
      { __typename: "MessageAddedEvent", notify: false },
      { __typename: "MentionedEvent", notify: true },
    ]);

    expect((await gqlOk(t.url, LEVEL, { r: room, l: "MENTIONS" }, bob.token)).setRoomNotifications).toEqual({
      notificationLevel: "MENTIONS",
    });
    // The level reaches the open feed through Kafka: wait until a plain message stops notifying.
    let quiet: Sent | undefined;
    await waitUntil(async () => {
      quiet = await send(alice, room, "quiet?");
      await feed.waitFor(() => of(quiet!.id).length > 0);
      return of(quiet.id)[0]!.notify === false;
    });
    const edited = await send(alice, room, "soon a mention");
    await gqlOk(
      t.url,
      `mutation($m: ID!, $b: String!) { editMessage(messageId: $m, body: $b) { id } }`,
      { m: edited.id, b: `now @${bob.username}` },
      alice.token,
    );
    await feed.waitFor(() => of(edited.id).some((e) => e.__typename === "MentionedEvent"));
    expect(of(edited.id).find((e) => e.__typename === "MentionedEvent")).toMatchObject({ notify: true });

    await gqlOk(t.url, LEVEL, { r: room, l: "NONE" }, bob.token);
    await waitUntil(async () => {
      const muted = await send(alice, room, `muted @${bob.username}`);
      await feed.waitFor(() => of(muted.id).length === 2);
      return of(muted.id).every((e) => e.notify === false);
    });
    expect(errorCode(await gql(t.url, LEVEL, { r: room, l: "LOUD" }, bob.token))).toBe("BAD_USER_INPUT");
  } finally {
    await client.dispose();
  }
});

/** Retries `attempt` until it holds (each attempt waits on events itself); fails after 20 tries. */
async function waitUntil(attempt: () => Promise<boolean>) {
  for (let i = 0; i < 20; i++) if (await attempt()) return;
  throw new Error("condition never held");
}
