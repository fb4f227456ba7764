import { describe, expect, it } from "vitest";
import { createRoom, errorCode, gql, gqlOk, signUp, type TestUser, useTestApp } from "./support/harness.js";

const t = useTestApp();

const SEND = `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }`;
const SAVE = `mutation($m: ID!) { saveMessage(messageId: $m) { savedAt message { id body room { id } } } }`;
const UNSAVE = `mutation($m: ID!) { unsaveMessage(messageId: $m) }`;
const LIST = `query($first: Int, $after: String) { savedMessages(first: $first, after: $after) { savedAt cursor message { id body } } }`;

async function roomWithMessages(count: number) {
  const [me, a] = await Promise.all([signUp(t.url), signUp(t.url)]);
  const roomId = await createRoom(t.url, me!, [a!]);
  const ids: string[] = [];
  for (let i = 1; i <= count; i++)
    ids.push((await gqlOk(t.url, SEND, { r: roomId, b: `m${i}` }, a!.token)).sendMessage.id);
  return { me: me!, a: a!, roomId, ids };
}

const bodies = async (user: TestUser, vars: Record<string, unknown> = {}) =>
  (await gqlOk(t.url, LIST, vars, user.token)).savedMessages as {
    savedAt: string;
    cursor: string;
    message: { body: string };
  }[];

describe("saved messages", () => {
  it("saves, lists newest first, keeps the first savedAt and unsaves", async () => {
    const { me, roomId, ids } = await roomWithMessages(3);
    const first = await gqlOk(t.url, SAVE, { m: ids[0] }, me.token);
    expect(first.saveMessage.message).toEqual({ id: ids[0], body: "m1", room: { id: roomId } });
    await gqlOk(t.url, SAVE, { m: ids[2] }, me.token);
    const again = await gqlOk(t.url, SAVE, { m: ids[0] }, me.token);
    expect(again.saveMessage.savedAt).toBe(first.saveMessage.savedAt);

    expect((await bodies(me)).map((s) => s.message.body)).toEqual(["m3", "m1"]);
    expect((await gqlOk(t.url, UNSAVE, { m: ids[2] }, me.token)).unsaveMessage).toBe(true);
    expect((await gqlOk(t.url, UNSAVE, { m: ids[2] }, me.token)).unsaveMessage).toBe(false);
    expect((await bodies(me)).map((s) => s.message.body)).toEqual(["m1"]);
  });

  it("pages with cursors without skipping or repeating", async () => {
    const { me, ids } = await roomWithMessages(7);
    // Saved concurrently, so several land in one worker batch.
    await Promise.all(ids.map((m) => gqlOk(t.url, SAVE, { m }, me.token)));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await bodies(me, { first: 3, after });
      seen.push(...page.map((p) => p.message.body));
      if (page.length < 3) break;
      after = page.at(-1)!.cursor;
    }
    expect(seen.slice().sort()).toEqual(ids.map((_, i) => `m${i + 1}`).sort());
    expect(new Set(seen).size).toBe(7);
    expect(errorCode(await gql(t.url, LIST, { after: "garbage" }, me.token))).toBe("BAD_USER_INPUT");
    expect(errorCode(await gql(t.url, LIST, { first: 101 }, me.token))).toBe("BAD_USER_INPUT");
  });

  it("only saves messages of rooms you belong to, and forgets them when you leave", async () => {
    const { me, a, roomId, ids } = await roomWithMessages(1);
    const outsider = await signUp(t.url);
    expect(errorCode(await gql(t.url, SAVE, { m: ids[0] }, outsider.token))).toBe("FORBIDDEN");
    expect(errorCode(await gql(t.url, SAVE, { m: "3f1d2c4b-5a69-4788-9a0b-1c2d3e4f5a6b" }, me.token))).toBe(
      "NOT_FOUND",
    );
    expect(errorCode(await gql(t.url, SAVE, { m: "nope" }, me.token))).toBe("NOT_FOUND"); // as every malformed id
    expect(errorCode(await gql(t.url, SAVE, { m: ids[0] }))).toBe("UNAUTHENTICATED");

    await gqlOk(t.url, SAVE, { m: ids[0] }, a.token);
    await gqlOk(t.url, `mutation($r: ID!) { leaveRoom(roomId: $r) }`, { r: roomId }, a.token);
    expect(await bodies(a)).toEqual([]);
    expect(await bodies(me)).toEqual([]);
  });
});
