/** Messages have a life: edit, delete, reactions, direct rooms and search, over real HTTP and WebSockets. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp, type App } from "../src/app.js";
import { createLogger } from "../src/shared/logger.js";
import {
  befriend,
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  TestSubscription,
  uniqueName,
  useTestApp,
  useTestDatabase,
  wsClient,
  type TestUser,
} from "./support/harness.js";

const t = useTestApp();
const db = useTestDatabase();
let second: App;
beforeAll(async () => {
  second = await startApp({ config: t.config, role: "api", logger: createLogger("error"), onFatal: () => {} });
});
afterAll(() => second?.stop());

const MESSAGE = `id seq body editedAt deletedAt reactions { emoji count reactedByMe }`;
const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id seq } }`;
const EDIT = `mutation($m: ID!, $b: String!) { editMessage(messageId: $m, body: $b) { ${MESSAGE} } }`;
const DELETE = `mutation($m: ID!) { deleteMessage(messageId: $m) { ${MESSAGE} } }`;
const REACT = `mutation($m: ID!, $e: String!) { react(messageId: $m, emoji: $e) { ${MESSAGE} } }`;
const UNREACT = `mutation($m: ID!, $e: String!) { unreact(messageId: $m, emoji: $e) { ${MESSAGE} } }`;
const HISTORY = `query($r: ID!) { room(id: $r) { messages { ${MESSAGE} } } }`;
const UPDATES = `subscription($r: ID!) { messageUpdated(roomId: $r) { id body editedAt deletedAt reactions { emoji count } } }`;

async function chat() {
  const [alice, bob, carol] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  const room = await createRoom(t.url, alice, [bob]);
  const send = async (user: TestUser, body: string) =>
    (await gqlOk(t.url, SEND, { r: room, b: body }, user.token)).sendMessage as { id: string; seq: number };
  return { alice, bob, carol, room, send };
}

/** Bob's messageUpdated subscription, live once it has seen an edit sent after it opened. */
async function liveUpdates(room: string, bob: TestUser, alice: TestUser, probe: string) {
  const client = wsClient(t.wsUrl, bob.token);
  const sub = new TestSubscription(client, UPDATES, { r: room });
  for (let i = 0; !sub.data.some((d) => d.messageUpdated.id === probe); i++) {
    await gqlOk(t.url, EDIT, { m: probe, b: `probe ${i}` }, alice.token);
    await sub
      .waitFor((s) => s.data.some((d) => d.messageUpdated.id === probe), 500)
      .catch(() => {
        if (i > 20) throw new Error("messageUpdated never became live");
      });
  }
  return { client, sub };
}

it("edits your own message: same id and seq, editedAt, current in history, live to members", async () => {
  const { alice, bob, carol, room, send } = await chat();
  const probe = await send(alice, "probe");
  const first = await send(alice, "frist");
  const { client, sub } = await liveUpdates(room, bob, alice, probe.id);
  const edited = (await gqlOk(t.url, EDIT, { m: first.id, b: " first " }, alice.token)).editMessage;
  expect(edited).toMatchObject({ id: first.id, seq: first.seq, body: "first", deletedAt: null });
  expect(Date.parse(edited.editedAt)).toBeGreaterThan(Date.now() - 60_000);
  await sub.waitFor((s) => s.data.some((d) => d.messageUpdated.body === "first"), 20_000, "the edit");
  const history = (await gqlOk(t.url, HISTORY, { r: room }, bob.token)).room.messages;
  expect(history.find((m: { id: string }) => m.id === first.id).body).toBe("first");

  expect(errorCode(await gql(t.url, EDIT, { m: first.id, b: "mine now" }, bob.token))).toBe("FORBIDDEN");
  expect(errorCode(await gql(t.url, EDIT, { m: first.id, b: "x" }, carol.token))).toBe("FORBIDDEN");
  expect(errorCode(await gql(t.url, EDIT, { m: first.id, b: "" }, alice.token))).toBe("BAD_USER_INPUT");
  expect(errorCode(await gql(t.url, EDIT, { m: first.id, b: "nul \u0000" }, alice.token))).toBe("BAD_USER_INPUT");
  expect(errorCode(await gql(t.url, EDIT, { m: "not-an-id", b: "x" }, alice.token))).toBe("NOT_FOUND");
  expect(errorCode(await gql(t.url, EDIT, { m: crypto.randomUUID(), b: "x" }, alice.token))).toBe("NOT_FOUND");
  await client.dispose();
});

it("deletes your own message as a tombstone: seq kept, body gone for everyone, reactions and saved copies gone", async () => {
  const { alice, bob, room, send } = await chat();
  const probe = await send(alice, "probe");
  const doomed = await send(alice, "regrettable");
  await gqlOk(t.url, REACT, { m: doomed.id, e: "👍" }, bob.token);
  await gqlOk(t.url, `mutation($m: ID!) { saveMessage(messageId: $m) { savedAt } }`, { m: doomed.id }, bob.token);
  const { client, sub } = await liveUpdates(room, bob, alice, probe.id);

  expect(errorCode(await gql(t.url, DELETE, { m: doomed.id }, bob.token))).toBe("FORBIDDEN");
  const tombstone = (await gqlOk(t.url, DELETE, { m: doomed.id }, alice.token)).deleteMessage;
  expect(tombstone).toMatchObject({ id: doomed.id, seq: doomed.seq, body: "", reactions: [] });
  expect(tombstone.deletedAt).not.toBeNull();
  await sub.waitFor((s) => s.data.some((d) => d.messageUpdated.deletedAt), 20_000, "the deletion");
  const next = await send(bob, "after");
  expect(next.seq).toBe(doomed.seq + 1); // the room's sequence stays gapless
  const history = (await gqlOk(t.url, HISTORY, { r: room }, bob.token)).room.messages;
  expect(history.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
  expect(history[1]).toMatchObject({ body: "", reactions: [] });
  const saved = await gqlOk(t.url, `{ savedMessages { message { id } } }`, {}, bob.token);
  expect(saved.savedMessages).toEqual([]);
  const [stored] = await db`select body from messages where id = ${doomed.id}`;
  expect(stored!.body).toBe(""); // gone from the database too, not just hidden
  expect(errorCode(await gql(t.url, EDIT, { m: doomed.id, b: "undo" }, alice.token))).toBe("NOT_FOUND");
  expect(errorCode(await gql(t.url, REACT, { m: doomed.id, e: "👍" }, bob.token))).toBe("NOT_FOUND");
  await client.dispose();
});

it("counts reactions once per user and emoji, tells each viewer their own, and refuses what is not an emoji", async () => {
  const { alice, bob, carol, room, send } = await chat();
  const probe = await send(alice, "probe");
  const message = await send(alice, "react to me");
  const { client, sub } = await liveUpdates(room, bob, alice, probe.id);
  await gqlOk(t.url, REACT, { m: message.id, e: "👍" }, alice.token);
  await gqlOk(t.url, REACT, { m: message.id, e: "👍" }, alice.token); // again: nothing changes
  await gqlOk(t.url, REACT, { m: message.id, e: "👍" }, bob.token);
  const both = (await gqlOk(t.url, REACT, { m: message.id, e: ":party_parrot:" }, bob.token)).react;
  expect(both.reactions).toEqual([
    { emoji: "👍", count: 2, reactedByMe: true },
    { emoji: ":party_parrot:", count: 1, reactedByMe: true },
  ]);
  const mine = (await gqlOk(t.url, UNREACT, { m: message.id, e: "👍" }, alice.token)).unreact;
  expect(mine.reactions).toEqual([
    { emoji: "👍", count: 1, reactedByMe: false },
    { emoji: ":party_parrot:", count: 1, reactedByMe: false },
  ]);
  await sub.waitFor(
    (s) => s.data.some((d) => d.messageUpdated.id === message.id && d.messageUpdated.reactions[0]?.count === 1),
    20_000,
    "the reaction changes",
  );
  for (const bad of ["abc", "👍👍", ":Bad Code:", "", "\u0000"])
    expect(errorCode(await gql(t.url, REACT, { m: message.id, e: bad }, bob.token)), bad).toBe("BAD_USER_INPUT");
  for (const good of ["👩‍👩‍👧", "🇰🇷", "1️⃣", "❤️"])
    expect((await gqlOk(t.url, REACT, { m: message.id, e: good }, bob.token)).react.reactions.length).toBeGreaterThan(
      0,
    );
  expect(errorCode(await gql(t.url, REACT, { m: message.id, e: "👍" }, carol.token))).toBe("FORBIDDEN");
  // One user's reactions to one message are bounded (short codes are endless).
  const codes = Array.from({ length: 25 }, (_, i) => `:code_${i}:`);
  const results = await Promise.all(codes.map((e) => gql(t.url, REACT, { m: message.id, e }, alice.token)));
  expect(results.map(errorCode).filter((c) => c === "BAD_USER_INPUT")).toHaveLength(5);
  await client.dispose();
});

it("opens one direct room per pair, from either side and from two API processes at once", async () => {
  const [alice, bob, stranger] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  await befriend(t.url, alice, [bob]);
  await befriend(t.url, bob, [alice]);
  const DIRECT = `mutation($u: ID!) { directRoom(userId: $u) { id isDirect members { id } } }`;
  const [fromAlice, fromBob] = await Promise.all([
    gqlOk(t.url, DIRECT, { u: bob.id }, alice.token),
    gqlOk(second.url!, DIRECT, { u: alice.id }, bob.token),
  ]);
  expect(fromAlice.directRoom.id).toBe(fromBob.directRoom.id);
  expect(fromAlice.directRoom.isDirect).toBe(true);
  expect(fromAlice.directRoom.members.map((m: { id: string }) => m.id).sort()).toEqual([alice.id, bob.id].sort());
  const [rooms] = await db<{ n: number }[]>`select count(*)::int as n from rooms where id = ${fromAlice.directRoom.id}`;
  expect(rooms!.n).toBe(1);
  expect((await gqlOk(t.url, DIRECT, { u: bob.id.toUpperCase() }, alice.token)).directRoom.id).toBe(
    fromAlice.directRoom.id,
  );

  expect(errorCode(await gql(t.url, DIRECT, { u: alice.id }, stranger.token))).toBe("FORBIDDEN"); // not a friend
  expect(errorCode(await gql(t.url, DIRECT, { u: alice.id }, alice.token))).toBe("BAD_USER_INPUT");
  expect(errorCode(await gql(t.url, DIRECT, { u: crypto.randomUUID() }, alice.token))).toBe("NOT_FOUND");
  // The other side needs no friendship to reach a room that exists: Carol adds Alice, Alice never adds Carol.
  const carol = await signUp(t.url);
  await befriend(t.url, carol, [alice]);
  const opened = (await gqlOk(t.url, DIRECT, { u: alice.id }, carol.token)).directRoom.id;
  expect((await gqlOk(t.url, DIRECT, { u: carol.id }, alice.token)).directRoom.id).toBe(opened);
  expect(
    errorCode(
      await gql(
        t.url,
        `mutation($r: ID!, $u: ID!) { removeMember(roomId: $r, userId: $u) { id } }`,
        {
          r: opened,
          u: alice.id,
        },
        carol.token,
      ),
    ),
  ).toBe("FORBIDDEN");
});

it("searches the text of your rooms' messages, newest first, by page, never deleted ones", async () => {
  const { alice, bob, room, send } = await chat();
  const word = uniqueName("w").toLowerCase(); // a word no other test writes
  const elsewhere = await createRoom(t.url, bob, []);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await send(i % 2 ? bob : alice, `about ${word} number ${i}`)).id);
  await gqlOk(t.url, SEND, { r: elsewhere, b: `${word} in bob's own room` }, bob.token);
  await gqlOk(t.url, DELETE, { m: ids[0] }, alice.token);
  const SEARCH = `query($q: String!, $r: ID, $f: Int, $a: ID) { searchMessages(query: $q, roomId: $r, first: $f, after: $a) { id body } }`;

  const all = (await gqlOk(t.url, SEARCH, { q: word.toUpperCase() }, bob.token)).searchMessages;
  expect(all).toHaveLength(5);
  expect(all[0].body).toContain("bob's own room");
  expect(all.map((m: { id: string }) => m.id)).not.toContain(ids[0]);
  const aliceSees = (await gqlOk(t.url, SEARCH, { q: word }, alice.token)).searchMessages;
  expect(aliceSees.map((m: { id: string }) => m.id)).toEqual([ids[4], ids[3], ids[2], ids[1]]);
  const page1 = (await gqlOk(t.url, SEARCH, { q: `${word} number`, r: room, f: 2 }, alice.token)).searchMessages;
  const page2 = (await gqlOk(t.url, SEARCH, { q: `${word} number`, r: room, f: 2, a: page1[1].id }, alice.token))
    .searchMessages;
  expect([...page1, ...page2].map((m: { id: string }) => m.id)).toEqual([ids[4], ids[3], ids[2], ids[1]]);
  expect(errorCode(await gql(t.url, SEARCH, { q: word, r: elsewhere }, alice.token))).toBe("FORBIDDEN");
  expect(errorCode(await gql(t.url, SEARCH, { q: "", r: room }, alice.token))).toBe("BAD_USER_INPUT");
  expect(errorCode(await gql(t.url, SEARCH, { q: word, f: 101 }, alice.token))).toBe("BAD_USER_INPUT");
  expect((await gqlOk(t.url, SEARCH, { q: "!!!" }, alice.token)).searchMessages).toEqual([]);
});
