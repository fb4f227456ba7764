/**
 * The embedded default (`npm run dev` without DATABASE_URL): the same app on PGlite in this
 * process, through every migration, with Kafka as usual. The worker's batched path (run of
 * sends, concurrent lookups in one transaction), history and read positions must behave as
 * they do on PostgreSQL, and so must search.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createRoom, gqlOk, signUp, startTestApp, testConfig, type TestApp } from "./support/harness.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: { ...testConfig(), DATABASE_URL: undefined, PGLITE_DIR: "memory://" } });
});
afterAll(() => t?.stop());

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { id seq } }`;

it("runs the chat path on embedded PGlite: gapless seqs, client retries, history and read positions", async () => {
  const [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
  const roomId = await createRoom(t.url, alice!, [bob!]);
  const sent = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      gqlOk(t.url, SEND, { r: roomId, b: `m${i}`, c: `c-${i}` }, (i % 2 ? bob : alice)!.token),
    ),
  );
  expect(sent.map((s) => s.sendMessage.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  const retry = await gqlOk(t.url, SEND, { r: roomId, b: "m0", c: "c-0" }, alice!.token);
  expect(retry.sendMessage).toEqual(sent[0]!.sendMessage);

  const { room } = await gqlOk(
    t.url,
    `query($r: ID!) { room(id: $r) { lastReadSeq unreadCount messages(last: 50) { seq } } }`,
    { r: roomId },
    alice!.token,
  );
  expect(room.messages.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  const mine = sent.filter((_, i) => i % 2 === 0).map((s) => s.sendMessage.seq);
  expect(room.lastReadSeq).toBe(Math.max(...mine));
  expect(room.unreadCount).toBe(20 - Math.max(...mine));

  // Search reads the viewer's rooms back as an array before its query: in all rooms and in one.
  const SEARCH = `query($q: String!, $r: ID) { searchMessages(query: $q, roomId: $r) { seq } }`;
  for (const variables of [{ q: "m7" }, { q: "m7", r: roomId }])
    expect((await gqlOk(t.url, SEARCH, variables, bob!.token)).searchMessages).toEqual([
      { seq: sent[7]!.sendMessage.seq },
    ]);
});
