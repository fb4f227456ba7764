import { describe, expect, it } from "vitest";
import {
  befriend,
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  type TestUser,
  useTestApp,
  wsClient,
} from "./support/harness.js";

const t = useTestApp();

const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id seq } }`;
const send = (user: TestUser, roomId: string, body: string) => gqlOk(t.url, SEND, { r: roomId, b: body }, user.token);
const ROOMS = `{ rooms { id name lastMessage { seq body } unreadCount lastReadSeq members { id } } }`;
const MARK = `mutation($r: ID!, $s: Int!) { markRead(roomId: $r, seq: $s) { id lastReadSeq unreadCount } }`;

describe("createRoom", () => {
  it("creates a room with the creator and friends as members", async () => {
    const [owner, a, b] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
    await befriend(t.url, owner!, [a!, b!]);
    const created = await gqlOk(
      t.url,
      `mutation($ids: [ID!]!) { createRoom(name: "  trip  ", memberIds: $ids) { id name createdAt members { id } lastReadSeq unreadCount lastMessage { id } } }`,
      { ids: [a!.id, b!.id, owner!.id] },
      owner!.token,
    );
    expect(created.createRoom.name).toBe("trip");
    expect(created.createRoom.members.map((m: { id: string }) => m.id).sort()).toEqual(
      [owner!.id, a!.id, b!.id].sort(),
    );
    expect(created.createRoom).toMatchObject({ lastReadSeq: 0, unreadCount: 0, lastMessage: null });
  });

  it("refuses members who are not the creator's friends, and unknown users", async () => {
    const [owner, stranger] = await Promise.all([signUp(t.url), signUp(t.url)]);
    const CREATE = `mutation($ids: [ID!]!) { createRoom(name: "x", memberIds: $ids) { id } }`;
    const refused = await gql(t.url, CREATE, { ids: [stranger!.id] }, owner!.token);
    expect(errorCode(refused)).toBe("FORBIDDEN");
    expect(refused.errors?.[0]?.message).toContain(stranger!.id);
    const unknown = await gql(t.url, CREATE, { ids: ["5a0c8a43-0a6f-4b8e-9d7b-3e6a9f1c2d44"] }, owner!.token);
    expect(errorCode(unknown)).toBe("NOT_FOUND");
    expect((await gqlOk(t.url, ROOMS, {}, owner!.token)).rooms).toEqual([]);
  });

  it("validates the name and the member count", async () => {
    const owner = await signUp(t.url);
    const CREATE = `mutation($n: String!, $ids: [ID!]!) { createRoom(name: $n, memberIds: $ids) { id } }`;
    const blank = await gql(t.url, CREATE, { n: "  ", ids: [] }, owner.token);
    expect(errorCode(blank)).toBe("BAD_USER_INPUT");
    expect(blank.errors?.[0]?.message).toContain("name");
    const ids = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    const crowded = await gql(t.url, CREATE, { n: "big", ids }, owner.token);
    expect(errorCode(crowded)).toBe("BAD_USER_INPUT");
    expect(crowded.errors?.[0]?.message).toContain("memberIds");
    expect(errorCode(await gql(t.url, CREATE, { n: "x", ids: [] }))).toBe("UNAUTHENTICATED");
  });
});

describe("rooms list, unread counts and read positions", () => {
  it("lists my rooms most recently active first, with last message and unread count excluding my own", async () => {
    const [me, a] = await Promise.all([signUp(t.url), signUp(t.url)]);
    const quiet = await createRoom(t.url, me!, [a!], "quiet");
    const busy = await createRoom(t.url, me!, [a!], "busy");
    await send(a!, quiet, "q1");
    await send(a!, busy, "b1");
    await send(me!, busy, "b2 (mine)");
    await send(a!, busy, "b3");
    await send(a!, quiet, "q2"); // quiet is now the most recent

    const { rooms } = await gqlOk(t.url, ROOMS, {}, me!.token);
    expect(rooms.map((r: { name: string }) => r.name)).toEqual(["quiet", "busy"]);
    expect(rooms[0]).toMatchObject({ lastMessage: { seq: 2, body: "q2" }, unreadCount: 2, lastReadSeq: 0 });
    // Sending "b2" moved my read position in busy to 2, so only b3 is unread there.
    expect(rooms[1]).toMatchObject({ lastMessage: { seq: 3, body: "b3" }, unreadCount: 1, lastReadSeq: 2 });

    const marked = await gqlOk(t.url, MARK, { r: quiet, s: 1 }, me!.token);
    expect(marked.markRead).toMatchObject({ lastReadSeq: 1, unreadCount: 1 });
    // Read positions only move forward.
    const lower = await gqlOk(t.url, MARK, { r: busy, s: 1 }, me!.token);
    expect(lower.markRead).toMatchObject({ lastReadSeq: 2, unreadCount: 1 });
    const all = await gqlOk(t.url, MARK, { r: busy, s: 3 }, me!.token);
    expect(all.markRead).toMatchObject({ lastReadSeq: 3, unreadCount: 0 });
    // Each member has their own position: in quiet I read up to 1, while a wrote q2 (seq 2).
    const theirs = await gqlOk(
      t.url,
      `query($r: ID!) { room(id: $r) { lastReadSeq unreadCount } }`,
      { r: quiet },
      a!.token,
    );
    expect(theirs.room).toEqual({ lastReadSeq: 2, unreadCount: 0 });
    const mine = await gqlOk(
      t.url,
      `query($r: ID!) { room(id: $r) { lastReadSeq unreadCount } }`,
      { r: quiet },
      me!.token,
    );
    expect(mine.room).toEqual({ lastReadSeq: 1, unreadCount: 1 });
  });

  it("rejects markRead beyond the last message, negative seqs and non-members", async () => {
    const [me, a, outsider] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
    const roomId = await createRoom(t.url, me!, [a!]);
    await send(a!, roomId, "one");
    const beyond = await gql(t.url, MARK, { r: roomId, s: 2 }, me!.token);
    expect(errorCode(beyond)).toBe("BAD_USER_INPUT");
    expect(beyond.errors?.[0]?.message).toContain("beyond");
    expect(errorCode(await gql(t.url, MARK, { r: roomId, s: -1 }, me!.token))).toBe("BAD_USER_INPUT");
    expect(errorCode(await gql(t.url, MARK, { r: roomId, s: 1 }, outsider!.token))).toBe("FORBIDDEN");
    const state = await gqlOk(t.url, `query($r: ID!) { room(id: $r) { lastReadSeq } }`, { r: roomId }, me!.token);
    expect(state.room.lastReadSeq).toBe(0);
  });
});

describe("history paging", () => {
  it("pages backwards through a room with `last` and `beforeSeq`, oldest first in each page", async () => {
    const [me, a] = await Promise.all([signUp(t.url), signUp(t.url)]);
    const roomId = await createRoom(t.url, me!, [a!]);
    for (let i = 1; i <= 12; i++) await send(i % 2 ? me! : a!, roomId, `m${i}`);
    const PAGE = `query($r: ID!, $last: Int, $before: Int) { room(id: $r) { messages(last: $last, beforeSeq: $before) { seq } } }`;
    const seqs = async (vars: Record<string, unknown>) =>
      ((await gqlOk(t.url, PAGE, { r: roomId, ...vars }, me!.token)).room.messages as { seq: number }[]).map(
        (m) => m.seq,
      );
    expect(await seqs({ last: 5 })).toEqual([8, 9, 10, 11, 12]);
    expect(await seqs({ last: 5, before: 8 })).toEqual([3, 4, 5, 6, 7]);
    expect(await seqs({ last: 5, before: 3 })).toEqual([1, 2]);
    expect(await seqs({})).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

    const tooMany = await gql(t.url, PAGE, { r: roomId, last: 101 }, me!.token);
    expect(errorCode(tooMany)).toBe("BAD_USER_INPUT");
    expect(tooMany.errors?.[0]?.message).toContain("last");
    expect(errorCode(await gql(t.url, PAGE, { r: roomId, last: 0 }, me!.token))).toBe("BAD_USER_INPUT");
  });
});

describe("leaving and removing members", () => {
  it("leaveRoom (by the id in any case) ends the member's open subscription at once and forbids further access", async () => {
    const [me, a] = await Promise.all([signUp(t.url), signUp(t.url)]);
    const roomId = await createRoom(t.url, me!, [a!]);
    const client = wsClient(t.wsUrl, a!.token);
    const sub = new TestSubscription(
      client,
      `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq body } }`,
      { r: roomId },
    );
    try {
      await send(me!, roomId, "before");
      await sub.waitFor((s) => s.data.length === 1, 20_000, "the first message");
      expect(
        (await gqlOk(t.url, `mutation($r: ID!) { leaveRoom(roomId: $r) }`, { r: roomId.toUpperCase() }, a!.token))
          .leaveRoom,
      ).toBe(true);
      await sub.waitFor((s) => s.completed, 20_000, "the subscription to end");
      expect(sub.results.at(-1)?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

      await send(me!, roomId, "after");
      expect(sub.data.map((d) => d.messageAdded.body)).toEqual(["before"]);
      expect(errorCode(await gql(t.url, SEND, { r: roomId, b: "hi" }, a!.token))).toBe("FORBIDDEN");
      expect(errorCode(await gql(t.url, `query($r: ID!) { room(id: $r) { id } }`, { r: roomId }, a!.token))).toBe(
        "FORBIDDEN",
      );
      expect((await gqlOk(t.url, ROOMS, {}, a!.token)).rooms).toEqual([]);
      const members = await gqlOk(
        t.url,
        `query($r: ID!) { room(id: $r) { members { id } } }`,
        { r: roomId },
        me!.token,
      );
      expect(members.room.members).toEqual([{ id: me!.id }]);
    } finally {
      sub.close();
      await client.dispose();
    }
  });

  it("deletes a room when its last member leaves", async () => {
    const me = await signUp(t.url);
    const roomId = await createRoom(t.url, me, []);
    await send(me, roomId, "alone");
    await gqlOk(t.url, `mutation($r: ID!) { leaveRoom(roomId: $r) }`, { r: roomId }, me.token);
    const again = await gql(t.url, `mutation($r: ID!) { leaveRoom(roomId: $r) }`, { r: roomId }, me.token);
    expect(errorCode(again)).toBe("NOT_FOUND");
  });

  it("only the owner (and admins) remove members; removed members lose access", async () => {
    const [owner, a, b] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
    const roomId = await createRoom(t.url, owner!, [a!, b!]);
    const REMOVE = `mutation($r: ID!, $u: ID!) { removeMember(roomId: $r, userId: $u) { id members { id } } }`;

    const notCreator = await gql(t.url, REMOVE, { r: roomId, u: b!.id }, a!.token);
    expect(errorCode(notCreator)).toBe("FORBIDDEN");
    expect(notCreator.errors?.[0]?.message).toContain("owner and admins");

    const removed = await gqlOk(t.url, REMOVE, { r: roomId, u: b!.id }, owner!.token);
    expect(removed.removeMember.members.map((m: { id: string }) => m.id).sort()).toEqual([owner!.id, a!.id].sort());
    expect(errorCode(await gql(t.url, SEND, { r: roomId, b: "still here?" }, b!.token))).toBe("FORBIDDEN");

    expect(errorCode(await gql(t.url, REMOVE, { r: roomId, u: b!.id }, owner!.token))).toBe("NOT_FOUND");
    expect(errorCode(await gql(t.url, REMOVE, { r: roomId, u: owner!.id }, owner!.token))).toBe("BAD_USER_INPUT");
    const selfInCapitals = await gql(t.url, REMOVE, { r: roomId, u: owner!.id.toUpperCase() }, owner!.token);
    expect(errorCode(selfInCapitals)).toBe("BAD_USER_INPUT");
    const outsider = await signUp(t.url);
    expect(errorCode(await gql(t.url, REMOVE, { r: roomId, u: a!.id }, outsider.token))).toBe("FORBIDDEN");
  });
});
