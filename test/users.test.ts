import { describe, expect, it } from "vitest";
import { waitUntil } from "../scripts/app-process.js";
import { startApp } from "../src/app.js";
import { createLogger } from "../src/shared/logger.js";
import {
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
} from "./support/harness.js";

const t = useTestApp();
const db = useTestDatabase();

const SIGN_UP = `mutation($u: String!, $p: String!, $d: String!, $e: String) {
  signUp(username: $u, password: $p, displayName: $d, email: $e) { token user { id username joinedAt } }
}`;

describe("signUp", () => {
  it("treats usernames case-insensitively", async () => {
    const name = uniqueName("Eve");
    await signUp(t.url, name);
    const clash = await gql(t.url, SIGN_UP, { u: name.toUpperCase(), p: "long enough pw", d: "Eve 2" });
    expect(errorCode(clash)).toBe("BAD_USER_INPUT");
    expect(clash.errors?.[0]?.message).toContain("is taken");
  });

  it("validates email, and an address already used answers as a new one does (it tells nobody who is registered)", async () => {
    const email = `${uniqueName("mail")}@example.com`;
    const first = await gqlOk(t.url, SIGN_UP, { u: uniqueName(), p: "long enough pw", d: "A", e: email });
    expect(first.signUp.user.id).toBeTruthy();
    const again = await gqlOk(t.url, SIGN_UP, { u: uniqueName(), p: "long enough pw", d: "B", e: email.toUpperCase() });
    expect(again.signUp.user.id).toBeTruthy();
    expect(again.signUp.user.id).not.toBe(first.signUp.user.id);
    const invalid = await gql(t.url, SIGN_UP, { u: uniqueName(), p: "long enough pw", d: "C", e: "not-an-email" });
    expect(errorCode(invalid)).toBe("BAD_USER_INPUT");
    expect(invalid.errors?.[0]?.message).toContain("email");
  });

  it.each([
    ["a too short username", { u: "ab" }, "username"],
    ["a too long username", { u: "a".repeat(33) }, "username"],
    ["a password under 8 characters", { p: "1234567" }, "password"],
    ["a display name over 64 characters", { d: "x".repeat(65) }, "displayName"],
  ])("rejects %s", async (_, override, field) => {
    const result = await gql(t.url, SIGN_UP, { u: uniqueName(), p: "long enough pw", d: "Fine", ...override });
    expect(errorCode(result)).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.message).toContain(field);
  });

  it("stores only a salted scrypt hash of the password", async () => {
    const a = await signUp(t.url);
    const b = await signUp(t.url);
    const rows = await db<{ password_hash: string }[]>`select password_hash from users where id in (${a.id}, ${b.id})`;
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.password_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      expect(row.password_hash).not.toContain("correct horse battery");
    }
    expect(rows[0]!.password_hash).not.toBe(rows[1]!.password_hash); // same password, different salt
  });
});

describe("logIn and logOut", () => {
  it("gives the same error for an unknown user and a wrong password", async () => {
    const user = await signUp(t.url);
    const unknown = await gql(
      t.url,
      `mutation { logIn(username: "${uniqueName("nobody")}", password: "whatever123") { token } }`,
    );
    const wrong = await gql(t.url, `mutation($u: String!) { logIn(username: $u, password: "whatever123") { token } }`, {
      u: user.username,
    });
    expect(errorCode(unknown)).toBe("UNAUTHENTICATED");
    expect(errorCode(wrong)).toBe("UNAUTHENTICATED");
    expect(unknown.errors?.[0]?.message).toBe(wrong.errors?.[0]?.message);
  });

  it("logOut makes the token stop working, and a new logIn works again", async () => {
    const user = await signUp(t.url);
    expect((await gqlOk(t.url, `mutation { logOut }`, {}, user.token)).logOut).toBe(true);
    const after = await gql(
      t.url,
      `mutation($s: String!) { updateStatusMessage(statusMessage: $s) { id } }`,
      { s: "x" },
      user.token,
    );
    expect(errorCode(after)).toBe("UNAUTHENTICATED");
    expect((await gqlOk(t.url, `{ me { id } }`, {}, user.token)).me).toBeNull();

    const again = await gqlOk(
      t.url,
      `mutation($u: String!) { logIn(username: $u, password: "correct horse battery") { token } }`,
      {
        u: user.username,
      },
    );
    expect((await gqlOk(t.url, `{ me { id } }`, {}, again.logIn.token)).me.id).toBe(user.id);
  });

  it("logOut ends this device's session only; logOutEverywhere ends them all", async () => {
    const user = await signUp(t.url);
    const LOG_IN = `mutation($u: String!) { logIn(username: $u, password: "correct horse battery") { token } }`;
    const phone = (await gqlOk(t.url, LOG_IN, { u: user.username })).logIn.token as string;
    const laptop = (await gqlOk(t.url, LOG_IN, { u: user.username })).logIn.token as string;
    const me = async (token: string) => (await gqlOk(t.url, `{ me { id } }`, {}, token)).me;

    expect((await gqlOk(t.url, `mutation { logOut }`, {}, phone)).logOut).toBe(true);
    expect(await me(phone)).toBeNull();
    expect(await me(laptop)).toEqual({ id: user.id });
    expect(await me(user.token)).toEqual({ id: user.id });

    expect((await gqlOk(t.url, `mutation { logOutEverywhere }`, {}, laptop)).logOutEverywhere).toBe(true);
    expect(await me(laptop)).toBeNull();
    expect(await me(user.token)).toBeNull();
    expect(await me((await gqlOk(t.url, LOG_IN, { u: user.username })).logIn.token)).toEqual({ id: user.id });
  });

  it("a change through one API process reaches the others' cached users: sessions and profiles", async () => {
    const other = await startApp({
      config: t.config,
      role: "api",
      logger: createLogger("error", { test: true }),
      onFatal: () => {},
    });
    try {
      const user = await signUp(t.url);
      const viewer = await signUp(t.url);
      const meOn = async (url: string) => (await gqlOk(url, `{ me { id statusMessage } }`, {}, user.token)).me;
      const seenBy = async (url: string) =>
        (await gqlOk(url, `query($id: ID!) { user(id: $id) { statusMessage } }`, { id: user.id }, viewer.token)).user;
      expect(await meOn(other.url!)).toMatchObject({ id: user.id, statusMessage: null }); // now cached there
      expect(await seenBy(other.url!)).toEqual({ statusMessage: null });
      await gqlOk(t.url, `mutation { updateStatusMessage(statusMessage: "busy") { id } }`, {}, user.token);
      await waitUntil(async () => (await meOn(other.url!))?.statusMessage === "busy", 5_000, "the profile change");
      expect(await seenBy(other.url!)).toEqual({ statusMessage: "busy" });
      await gqlOk(t.url, `mutation { logOut }`, {}, user.token);
      await waitUntil(async () => (await meOn(other.url!)) === null, 5_000, "the session to end on the other API");
    } finally {
      await other.stop();
    }
  });

  it("logOut without a token is UNAUTHENTICATED", async () => {
    expect(errorCode(await gql(t.url, `mutation { logOut }`))).toBe("UNAUTHENTICATED");
  });
});

describe("profile", () => {
  it("updates and clears the status message, within 140 characters", async () => {
    const user = await signUp(t.url);
    const UPDATE = `mutation($s: String!) { updateStatusMessage(statusMessage: $s) { id statusMessage } }`;
    expect((await gqlOk(t.url, UPDATE, { s: "  busy coding  " }, user.token)).updateStatusMessage.statusMessage).toBe(
      "busy coding",
    );
    const viewed = await gqlOk(
      t.url,
      `query($id: ID!) { user(id: $id) { statusMessage } }`,
      { id: user.id },
      user.token,
    );
    expect(viewed.user.statusMessage).toBe("busy coding");

    const tooLong = await gql(t.url, UPDATE, { s: "x".repeat(141) }, user.token);
    expect(errorCode(tooLong)).toBe("BAD_USER_INPUT");
    expect(tooLong.errors?.[0]?.message).toContain("statusMessage");
    expect(
      (await gqlOk(t.url, UPDATE, { s: "x".repeat(140) }, user.token)).updateStatusMessage.statusMessage,
    ).toHaveLength(140);
    expect((await gqlOk(t.url, UPDATE, { s: "" }, user.token)).updateStatusMessage.statusMessage).toBe("");
  });

  it("shows lastLoginAt to the user and the friends they added, null to others", async () => {
    const [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
    await gqlOk(t.url, `mutation($u: String!) { logIn(username: $u, password: "correct horse battery") { token } }`, {
      u: alice.username,
    });
    const seenBy = async (token: string) =>
      (await gqlOk(t.url, `query($id: ID!) { user(id: $id) { lastLoginAt } }`, { id: alice.id }, token)).user
        .lastLoginAt;
    expect(await seenBy(alice.token)).toEqual(expect.any(String));
    expect(await seenBy(bob.token)).toBeNull();
    await gqlOk(t.url, `mutation($ids: [ID!]!) { addFriends(userIds: $ids) { id } }`, { ids: [bob.id] }, alice.token);
    expect(await seenBy(bob.token)).toBe(await seenBy(alice.token));
  });

  it("finds users by id and by username, NOT_FOUND for unknown ids", async () => {
    const user = await signUp(t.url);
    const other = await signUp(t.url);
    const byName = await gqlOk(
      t.url,
      `query($u: String!) { userByUsername(username: $u) { id } }`,
      { u: other.username.toUpperCase() },
      user.token,
    );
    expect(byName.userByUsername.id).toBe(other.id);
    const unknown = await gql(t.url, `{ user(id: "7d1e8c2a-0000-4000-8000-000000000000") { id } }`, {}, user.token);
    expect(errorCode(unknown)).toBe("NOT_FOUND");
    expect(errorCode(await gql(t.url, `{ user(id: "${other.id}") { id } }`))).toBe("UNAUTHENTICATED");
  });
});

describe("deleteAccount", () => {
  it("removes the user and their friendships, memberships and saved messages; history stays with a deleted sender", async () => {
    const doomed = await signUp(t.url);
    const friend = await signUp(t.url);
    const roomId = await createRoom(t.url, doomed, [friend]);
    await gqlOk(
      t.url,
      `mutation($ids: [ID!]!) { addFriends(userIds: $ids) { id } }`,
      { ids: [doomed.id] },
      friend.token,
    );
    const sent = await gqlOk(
      t.url,
      `mutation($r: ID!) { sendMessage(roomId: $r, body: "last words") { id } }`,
      { r: roomId },
      doomed.token,
    );
    await gqlOk(
      t.url,
      `mutation($m: ID!) { saveMessage(messageId: $m) { savedAt } }`,
      { m: sent.sendMessage.id },
      doomed.token,
    );

    // The friend has a subscription open: it keeps working, the deleted user's ends.
    const doomedClient = wsClient(t.wsUrl, doomed.token);
    const doomedSub = new TestSubscription(
      doomedClient,
      `subscription($r: ID!) { messageAdded(roomId: $r, afterSeq: 0) { seq } }`,
      { r: roomId },
    );
    await doomedSub.waitFor((s) => s.data.length === 1, 20_000, "the replayed message");

    expect((await gqlOk(t.url, `mutation { deleteAccount }`, {}, doomed.token)).deleteAccount).toBe(true);
    await doomedSub.waitFor((s) => s.completed, 20_000, "the deleted user's subscription to end");
    // Ended by whichever reaches this API process first (they travel on different partitions):
    // the membership's end (FORBIDDEN) or the session's (the socket closed with 4401).
    const forbidden = doomedSub.results.at(-1)?.errors?.[0]?.extensions?.code === "FORBIDDEN";
    const unauthorized = (doomedSub.error as { code?: number } | null)?.code === 4401;
    expect([forbidden, unauthorized]).toContain(true);
    doomedSub.close();
    await doomedClient.dispose();

    expect(errorCode(await gql(t.url, `mutation { logOut }`, {}, doomed.token))).toBe("UNAUTHENTICATED");
    const login = await gql(
      t.url,
      `mutation($u: String!) { logIn(username: $u, password: "correct horse battery") { token } }`,
      { u: doomed.username },
    );
    expect(errorCode(login)).toBe("UNAUTHENTICATED");

    const view = await gqlOk(
      t.url,
      `query($r: ID!) { me { friends { id } } room(id: $r) { members { id } messages { body sender { id username displayName } } } }`,
      { r: roomId },
      friend.token,
    );
    expect(view.me.friends).toEqual([]);
    expect(view.room.members).toEqual([{ id: friend.id }]);
    expect(view.room.messages).toEqual([
      {
        body: "last words",
        sender: { id: "00000000-0000-0000-0000-000000000000", username: "deleted_user", displayName: "Deleted user" },
      },
    ]);
    expect(errorCode(await gql(t.url, `{ user(id: "${doomed.id}") { id } }`, {}, friend.token))).toBe("NOT_FOUND");

    // The username is free again.
    const reborn = await signUp(t.url, doomed.username);
    expect(reborn.id).not.toBe(doomed.id);
    expect((await gqlOk(t.url, `{ savedMessages { savedAt } }`, {}, reborn.token)).savedMessages).toEqual([]);
  });
});
