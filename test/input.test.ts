/**
 * Input hygiene at the API: what PostgreSQL would refuse, what hides or impersonates, and
 * malformed ids and cursors get BAD_USER_INPUT or NOT_FOUND for their own field, never an
 * internal error, and nothing reaches a worker to be dead-lettered.
 */
import { describe, expect, it } from "vitest";
import {
  createRoom,
  errorCode,
  gql,
  gqlOk,
  signUp,
  uniqueName,
  useTestApp,
  type GraphQLResponse,
} from "./support/harness.js";

const t = useTestApp();

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { seq body } }`;
const SIGN_UP = `mutation($u: String!, $d: String!, $e: String) { signUp(username: $u, password: "correct horse battery", displayName: $d, email: $e) { user { displayName } } }`;
const STATUS = `mutation($s: String!) { updateStatusMessage(statusMessage: $s) { statusMessage } }`;
const CREATE_ROOM = `mutation($n: String!) { createRoom(name: $n, memberIds: []) { name } }`;

function refused(result: GraphQLResponse, pattern: RegExp) {
  expect(errorCode(result)).toBe("BAD_USER_INPUT");
  expect(result.errors?.[0]?.message).toMatch(pattern);
}

describe("input hygiene", () => {
  it("refuses control characters and lone surrogates in message bodies and client ids, and the room keeps working", async () => {
    const alice = await signUp(t.url);
    const roomId = await createRoom(t.url, alice, []);
    refused(await gql(t.url, SEND, { r: roomId, b: "nul\u0000byte" }, alice.token), /body must not contain control/);
    refused(await gql(t.url, SEND, { r: roomId, b: "bell\u0007" }, alice.token), /control characters/);
    refused(await gql(t.url, SEND, { r: roomId, b: "half \ud83d emoji" }, alice.token), /lone surrogate/);
    refused(await gql(t.url, SEND, { r: roomId, b: "ok", c: "id\u0000" }, alice.token), /clientMessageId must not/);
    // Line breaks, tabs and the marks right-to-left text needs are a message's own.
    const body = "line one\n\tline two \u200f\u05e9\u05dc\u05d5\u05dd";
    expect((await gqlOk(t.url, SEND, { r: roomId, b: body }, alice.token)).sendMessage).toEqual({ seq: 1, body });
  });

  it("refuses invisible and direction-changing characters in names, and stores names in NFC", async () => {
    refused(
      await gql(t.url, SIGN_UP, { u: uniqueName(), d: "admin\u202egnp.exe" }),
      /displayName must not contain invisible/,
    );
    refused(await gql(t.url, SIGN_UP, { u: uniqueName(), d: "ali\u200bce" }), /invisible or direction-changing/);
    refused(await gql(t.url, SIGN_UP, { u: uniqueName(), d: "two\nlines" }), /one line/);
    refused(
      await gql(t.url, SIGN_UP, { u: uniqueName(), d: "x", e: `${"a".repeat(250)}@example.com` }),
      /email must be at most 254/,
    );
    const composed = await gqlOk(t.url, SIGN_UP, { u: uniqueName(), d: "Jose\u0301" });
    expect(composed.signUp.user.displayName).toBe("Jos\u00e9");

    const alice = await signUp(t.url);
    refused(await gql(t.url, CREATE_ROOM, { n: "team\u0000" }, alice.token), /name must not contain control/);
    refused(await gql(t.url, CREATE_ROOM, { n: "\u2066team\u2069" }, alice.token), /invisible/);
    refused(await gql(t.url, STATUS, { s: "busy\u0000" }, alice.token), /statusMessage must not contain control/);
  });

  it("answers a malformed id NOT_FOUND for its own field only", async () => {
    const alice = await signUp(t.url);
    const result = await gql(
      t.url,
      `query($ok: ID!) { a: user(id: $ok) { id } b: user(id: "------------------------------------") { id } }`,
      { ok: alice.id },
      alice.token,
    );
    expect(result.data?.a).toEqual({ id: alice.id });
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]).toMatchObject({ path: ["b"], extensions: { code: "NOT_FOUND" } });
  });

  it("refuses cursors the API did not write", async () => {
    const alice = await signUp(t.url);
    const SAVED = `query($a: String) { savedMessages(first: 10, after: $a) { savedAt } }`;
    const crafted = [
      Buffer.from(`-271821-04-20T00:00:00.000Z|${alice.id}`).toString("base64url"),
      Buffer.from(`2026-01-01|${alice.id}`).toString("base64url"),
      "not a cursor at all",
    ];
    for (const a of crafted)
      refused(await gql(t.url, SAVED, { a }, alice.token), /after is not a cursor this API returned/);
  });
});
