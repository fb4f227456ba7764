/**
 * Room roles and blocking through an API and two workers over real Kafka and PostgreSQL:
 * each rule, and the races a second worker makes possible (a block against a direct chat,
 * keyed differently; a promotion against a removal).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
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
  processEnv,
} from "./support/harness.js";

const env = processEnv("roles", { KAFKA_TOPIC_PARTITIONS: "4", WORKER_CONCURRENCY: "4" });
const processes: AppProcess[] = [];
let api: AppProcess;
const sql = testDatabase();

beforeAll(async () => {
  processes.push(...(await Promise.all([AppProcess.start("worker", env), AppProcess.start("worker", env)])));
  api = await AppProcess.start("api", env);
  processes.push(api);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await sql.end();
});

const ROLES = `query($r: ID!) { room(id: $r) { name myRole memberRoles { user { id } role } } }`;
const SET_ROLE = `mutation($r: ID!, $u: ID!, $role: RoomRole!) { setMemberRole(roomId: $r, userId: $u, role: $role) { id } }`;
const RENAME = `mutation($r: ID!, $n: String!) { renameRoom(roomId: $r, name: $n) { name } }`;
const REMOVE = `mutation($r: ID!, $u: ID!) { removeMember(roomId: $r, userId: $u) { id } }`;
const call = (user: TestUser, query: string, variables: Record<string, unknown>) =>
  gql(api.url, query, variables, user.token);

it("gives each role its powers, tells members of renames and role changes, and none to a direct room", async () => {
  const [owner, admin, member] = await Promise.all([signUp(api.url), signUp(api.url), signUp(api.url)]);
  await befriend(api.url, owner, [admin, member]);
  const room = await createRoom(api.url, owner, [admin, member], "team");
  const client = wsClient(api.url.replace(/^http/, "ws"), member.token);
  try {
    const feed = new TestSubscription<{ myEvents: Record<string, any> }>(
      client,
      `subscription { myEvents { __typename
        ... on RoomRenamedEvent { cursor roomId name renamedBy { id } }
        ... on MemberRoleEvent { cursor roomId user { id } role changedBy { id } } } }`,
      {},
    );
    await gqlOk(api.url, SET_ROLE, { r: room, u: admin.id, role: "ADMIN" }, owner.token);
    expect(errorCode(await call(member, RENAME, { r: room, n: "mine" }))).toBe("FORBIDDEN");
    expect(errorCode(await call(admin, SET_ROLE, { r: room, u: member.id, role: "ADMIN" }))).toBe("FORBIDDEN");
    expect((await gqlOk(api.url, RENAME, { r: room, n: "renamed" }, admin.token)).renameRoom.name).toBe("renamed");
    await feed.waitFor((s) => s.data.some((d) => d.myEvents.__typename === "RoomRenamedEvent"));
    expect(feed.data.map((d) => d.myEvents)).toContainEqual(
      expect.objectContaining({ __typename: "RoomRenamedEvent", name: "renamed", renamedBy: { id: admin.id } }),
    );
    expect((await gqlOk(api.url, ROLES, { r: room }, member.token)).room).toEqual({
      name: "renamed",
      myRole: "MEMBER",
      memberRoles: [
        { user: { id: owner.id }, role: "OWNER" },
        { user: { id: admin.id }, role: "ADMIN" },
        { user: { id: member.id }, role: "MEMBER" },
      ],
    });

    // An admin deletes a member's message: the tombstone names them.
    const sent = await gqlOk(
      api.url,
      `mutation($r: ID!) { sendMessage(roomId: $r, body: "oops") { id } }`,
      { r: room },
      member.token,
    );
    const deleted = await gqlOk(
      api.url,
      `mutation($m: ID!) { deleteMessage(messageId: $m) { body deletedBy { id } } }`,
      { m: sent.sendMessage.id },
      admin.token,
    );
    expect(deleted.deleteMessage).toEqual({ body: "", deletedBy: { id: admin.id } });

    // The owner leaves: the admin owns the room now.
    await gqlOk(api.url, `mutation($r: ID!) { leaveRoom(roomId: $r) }`, { r: room }, owner.token);
    await feed.waitFor((s) =>
      s.data.some((d) => d.myEvents.__typename === "MemberRoleEvent" && d.myEvents.role === "OWNER"),
    );
    expect((await gqlOk(api.url, ROLES, { r: room }, admin.token)).room.myRole).toBe("OWNER");
  } finally {
    await client.dispose();
  }
  await befriend(api.url, member, [admin]);
  const direct = await gqlOk(
    api.url,
    `mutation($u: ID!) { directRoom(userId: $u) { id } }`,
    { u: admin.id },
    member.token,
  );
  expect((await gqlOk(api.url, ROLES, { r: direct.directRoom.id }, member.token)).room).toMatchObject({
    myRole: null,
    memberRoles: [],
  });
});

it("orders a block and a direct chat applied by two workers at once: never a chat opened after a block", async () => {
  const pairs = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const [blocker, blocked] = await Promise.all([signUp(api.url), signUp(api.url)]);
      await befriend(api.url, blocked, [blocker]);
      return { blocker, blocked };
    }),
  );
  const outcomes = await Promise.all(
    pairs.map(async ({ blocker, blocked }) => {
      const [opened] = await Promise.all([
        call(blocked, `mutation($u: ID!) { directRoom(userId: $u) { id } }`, { u: blocker.id }),
        gqlOk(api.url, `mutation($u: ID!) { blockUser(userId: $u) }`, { u: blocked.id }, blocker.token),
      ]);
      return { blocker, blocked, code: errorCode(opened), roomId: opened.data?.directRoom?.id as string | undefined };
    }),
  );
  for (const { blocker, blocked, code, roomId } of outcomes) {
    expect([undefined, "FORBIDDEN"]).toContain(code);
    const [block] =
      await sql`select blocked_at from blocks where blocker_id = ${blocker.id} and blocked_id = ${blocked.id}`;
    expect(block).toBeDefined();
    if (!roomId) continue;
    const [room] = await sql`select created_at from rooms where id = ${roomId}`;
    expect(room!.created_at.getTime()).toBeLessThanOrEqual(block!.blocked_at.getTime());
  }
});

it("lets exactly one of a promotion and a removal of the same member win, whichever worker applies them", async () => {
  for (let i = 0; i < 5; i++) {
    const [owner, admin, target] = await Promise.all([signUp(api.url), signUp(api.url), signUp(api.url)]);
    await befriend(api.url, owner, [admin, target]);
    const room = await createRoom(api.url, owner, [admin, target]);
    await gqlOk(api.url, SET_ROLE, { r: room, u: admin.id, role: "ADMIN" }, owner.token);
    const [promoted, removed] = await Promise.all([
      call(owner, SET_ROLE, { r: room, u: target.id, role: "ADMIN" }),
      call(admin, REMOVE, { r: room, u: target.id }),
    ]);
    const won = [promoted, removed].filter((r) => !r.errors);
    expect(won).toHaveLength(1);
    const [row] = await sql`select role from room_members where room_id = ${room} and user_id = ${target.id}`;
    expect(row?.role ?? "removed").toBe(promoted.errors ? "removed" : "ADMIN");
  }
});
