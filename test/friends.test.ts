import { describe, expect, it } from "vitest";
import { errorCode, gql, gqlOk, signUp, useTestApp } from "./support/harness.js";

const t = useTestApp();

const ADD = `mutation($ids: [ID!]!) { addFriends(userIds: $ids) { id username } }`;
const REMOVE = `mutation($id: ID!) { removeFriend(userId: $id) }`;
const FRIENDS = `{ me { friends { id } } }`;
const friendIds = async (token: string) =>
  ((await gqlOk(t.url, FRIENDS, {}, token)).me.friends as { id: string }[]).map((f) => f.id).sort();

describe("friends", () => {
  it("adds several friends at once, idempotently, and lists them", async () => {
    const [me, a, b, c] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url), signUp(t.url)]);
    const added = await gqlOk(t.url, ADD, { ids: [a!.id, b!.id, a!.id] }, me!.token);
    expect(added.addFriends.map((u: { id: string }) => u.id)).toEqual([a!.id, b!.id]);
    await gqlOk(t.url, ADD, { ids: [b!.id, c!.id] }, me!.token);
    expect(await friendIds(me!.token)).toEqual([a!.id, b!.id, c!.id].sort());
    // A friend list is one-directional, like a phone book.
    expect(await friendIds(a!.token)).toEqual([]);
  });

  it("adds nothing when any id is unknown, and names the unknown ids", async () => {
    const [me, a] = await Promise.all([signUp(t.url), signUp(t.url)]);
    const unknown = "0b8f3f36-2d70-4d5c-9d7e-4c1f7d2f0a11";
    const result = await gql(t.url, ADD, { ids: [a!.id, unknown] }, me!.token);
    expect(errorCode(result)).toBe("NOT_FOUND");
    expect(result.errors?.[0]?.message).toContain(unknown);
    expect(await friendIds(me!.token)).toEqual([]);
  });

  it("rejects adding yourself, an empty list and malformed ids", async () => {
    const me = await signUp(t.url);
    const self = await gql(t.url, ADD, { ids: [me.id] }, me.token);
    expect(errorCode(self)).toBe("BAD_USER_INPUT");
    expect(self.errors?.[0]?.message).toContain("yourself");
    expect(errorCode(await gql(t.url, ADD, { ids: [] }, me.token))).toBe("BAD_USER_INPUT");
    expect(errorCode(await gql(t.url, ADD, { ids: ["not-an-id"] }, me.token))).toBe("BAD_USER_INPUT");
    expect(await friendIds(me.token)).toEqual([]);
  });

  it("removes a friend, reporting whether they were one", async () => {
    const [me, a] = await Promise.all([signUp(t.url), signUp(t.url)]);
    await gqlOk(t.url, ADD, { ids: [a!.id] }, me!.token);
    expect((await gqlOk(t.url, REMOVE, { id: a!.id }, me!.token)).removeFriend).toBe(true);
    expect((await gqlOk(t.url, REMOVE, { id: a!.id }, me!.token)).removeFriend).toBe(false);
    expect(await friendIds(me!.token)).toEqual([]);
  });

  it("requires a token, and shows friend lists only to their owner", async () => {
    const [me, a] = await Promise.all([signUp(t.url), signUp(t.url)]);
    expect(errorCode(await gql(t.url, ADD, { ids: [a!.id] }))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gql(t.url, REMOVE, { id: a!.id }))).toBe("UNAUTHENTICATED");
    const peek = await gql(t.url, `query($id: ID!) { user(id: $id) { friends { id } } }`, { id: a!.id }, me!.token);
    expect(errorCode(peek)).toBe("FORBIDDEN");
  });
});
