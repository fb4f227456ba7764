/**
 * How reads reach PostgreSQL: a bounded number of statements per operation whatever the
 * number of rooms (DataLoader batching), and index scans on a room with 100k messages.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { befriend, gqlOk, signUp, type TestUser, useTestApp, useTestDatabase } from "./support/harness.js";

const t = useTestApp({ separateWorker: true });
const db = useTestDatabase();

const ROOM_LIST = `{
  rooms {
    id name unreadCount lastReadSeq
    members { id username displayName }
    lastMessage { seq body sender { id username } }
    messages(last: 3) { seq body }
  }
}`;

/** Runs one operation and returns how many SQL statements it cost. */
async function statementsFor(user: TestUser, query: string, variables: Record<string, unknown> = {}) {
  const before = t.queries.length;
  const data = await gqlOk(t.url, query, variables, user.token);
  return { data, statements: t.queries.slice(before) };
}

async function userWithRooms(count: number): Promise<TestUser> {
  const [me, a, b] = await Promise.all([signUp(t.url), signUp(t.url), signUp(t.url)]);
  await befriend(t.url, me!, [a!, b!]);
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const { createRoom } = await gqlOk(
        t.url,
        `mutation($n: String!, $ids: [ID!]!) { createRoom(name: $n, memberIds: $ids) { id } }`,
        { n: `room ${i}`, ids: [a!.id, b!.id] },
        me!.token,
      );
      await gqlOk(
        t.url,
        `mutation($r: ID!) { sendMessage(roomId: $r, body: "hello") { id } }`,
        { r: createRoom.id },
        a!.token,
      );
    }),
  );
  return me!;
}

describe("statement counts", () => {
  it("lists rooms with members, last messages and unread counts within the same statement bound for 1 and 50 rooms", async () => {
    const one = await userWithRooms(1);
    const fifty = await userWithRooms(50);

    const small = await statementsFor(one, ROOM_LIST);
    const large = await statementsFor(fifty, ROOM_LIST);
    expect(small.data.rooms).toHaveLength(1);
    expect(large.data.rooms).toHaveLength(50);
    expect(
      large.data.rooms.every(
        (r: { unreadCount: number; members: unknown[]; messages: unknown[] }) =>
          r.unreadCount === 1 && r.members.length === 3 && r.messages.length === 1,
      ),
    ).toBe(true);

    // authenticate, rooms, member ids, last messages, memberships, unread counts, the rooms'
    // latest messages (one lateral join), and users: members and senders share one batch when
    // their loads land in the same tick, else two. Without batching, 50 rooms would cost over
    // 250 statements.
    const BOUND = 9;
    expect(small.statements.length).toBeLessThanOrEqual(BOUND);
    expect(large.statements.length).toBeLessThanOrEqual(BOUND);
    // Lists travel as array parameters: no statement has more placeholders for 50 rooms than
    // for 1 (each new statement text costs postgres.js a prepare round trip).
    const placeholders = (statements: Array<{ sql: string }>) =>
      Math.max(...statements.flatMap((s) => [...s.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]))));
    expect(placeholders(large.statements)).toBeLessThanOrEqual(placeholders(small.statements));

    // The batched pages hold each room's own newest messages, oldest first.
    const busy = large.data.rooms[10].id;
    for (const body of ["two", "three", "four"])
      await gqlOk(
        t.url,
        `mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }`,
        { r: busy, b: body },
        fifty.token,
      );
    const again = await statementsFor(fifty, ROOM_LIST);
    expect(again.data.rooms[0]).toMatchObject({ id: busy, messages: [{ seq: 2 }, { seq: 3 }, { seq: 4 }] });
    expect(again.data.rooms[1].messages).toEqual([{ seq: 1, body: "hello" }]);
  });
});

async function plan(statement: { sql: string; params: unknown[] }) {
  const [row] = await db.unsafe(`explain (format json) ${statement.sql}`, statement.params as never[]);
  return JSON.stringify(row);
}

const seqScansOn = (planJson: string, tables: string[]) =>
  tables.filter((table) => new RegExp(`"Node Type":"Seq Scan"[^}]*"Relation Name":"${table}"`).test(planJson));

describe("query plans on a room with 100,000 messages", () => {
  it("keeps history, room list, last message and unread count on index scans", async () => {
    const [me, other] = await Promise.all([signUp(t.url), signUp(t.url)]);
    const roomId = randomUUID();
    await db.begin(async (sql) => {
      await sql`insert into rooms (id, name, creator_id, last_seq) values (${roomId}, 'big', ${me!.id}, 100000)`;
      await sql`insert into room_members (room_id, user_id, last_read_seq) values (${roomId}, ${me!.id}, 50000), (${roomId}, ${other!.id}, 0)`;
      await sql`
        insert into messages (id, room_id, seq, sender_id, body)
        select gen_random_uuid(), ${roomId}, n, case when n % 2 = 0 and n <= 50000 then ${me!.id}::uuid else ${other!.id}::uuid end,
               'message ' || n
        from generate_series(1, 100000) as n`;
      // Other users' rooms, so the membership tables are not trivially small.
      await sql`
        with u as (insert into users (id, username, display_name, password_hash)
                   select gen_random_uuid(), 'filler_' || replace(gen_random_uuid()::text, '-', ''), 'f', 'scrypt$x'
                   from generate_series(1, 2000) returning id),
             r as (insert into rooms (id, name) select gen_random_uuid(), 'filler' from generate_series(1, 2000) returning id),
             pairs as (select u.id as user_id, r.id as room_id from (select id, row_number() over () as k from u) u
                       join (select id, row_number() over () as k from r) r using (k))
        insert into room_members (room_id, user_id) select room_id, user_id from pairs`;
      // ... most of them small: the average room holds about 50 messages, this one 100,000.
      await sql`
        insert into messages (id, room_id, seq, body)
        select gen_random_uuid(), r.id, s, 'filler ' || s from rooms r, generate_series(1, 10) as s where r.name = 'filler'`;
    });
    await db`analyze messages`;
    await db`analyze room_members`;
    await db`analyze rooms`;

    const history = await statementsFor(
      me!,
      `query($r: ID!) { room(id: $r) { messages(last: 50, beforeSeq: 54321) { seq } } }`,
      { r: roomId },
    );
    expect(history.data.room.messages.map((m: { seq: number }) => m.seq)).toEqual(
      Array.from({ length: 50 }, (_, i) => 54271 + i),
    );
    const list = await statementsFor(me!, ROOM_LIST);
    expect(list.data.rooms[0]).toMatchObject({
      id: roomId,
      unreadCount: 50000, // everything after my read position is the other member's
      lastReadSeq: 50000,
      lastMessage: { seq: 100000 },
    });

    const statements = [...history.statements, ...list.statements];
    const touchingMessages = statements.filter((s) => /from "messages"|join "messages"/.test(s.sql));
    expect(touchingMessages.length).toBeGreaterThanOrEqual(3); // history, last message, unread count
    for (const statement of statements) {
      const json = await plan(statement);
      expect(seqScansOn(json, ["messages", "room_members", "rooms"]), `${statement.sql}\n${json}`).toEqual([]);
    }

    // Full-text search goes through its GIN index, in all my rooms and in one.
    for (const variables of [{ q: "54321" }, { q: "message 54321", r: roomId }]) {
      const search = await statementsFor(
        me!,
        `query($q: String!, $r: ID) { searchMessages(query: $q, roomId: $r) { seq } }`,
        variables,
      );
      expect(search.data.searchMessages).toEqual([{ seq: 54321 }]);
      const statement = search.statements.find((s) => s.sql.includes("to_tsvector"))!;
      const json = await plan(statement);
      expect(json, statement.sql).toContain("messages_search_idx");
      expect(seqScansOn(json, ["messages", "room_members"]), `${statement.sql}\n${json}`).toEqual([]);
      // The word's few hits are read and filtered by room; the big room's index is not read
      // whole to intersect with them (a planner that takes it for an average room does that).
      expect(json, statement.sql).not.toContain("messages_room_seq_key");
    }
  });
});
