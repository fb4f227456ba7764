/**
 * MessageStream against the real database: the replay pages, gap filling, duplicates and
 * the end of the stream, with live events pushed into the same bounded queue the event bus
 * feeds (so every case happens for certain, not when a broker happens to redeliver).
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { RoomEvent } from "../src/commands/protocol.js";
import { openDatabase, type DatabaseHandle } from "../src/db/client.js";
import { messages as messagesTable, type MessageRow } from "../src/db/schema.js";
import { AppError } from "../src/shared/errors.js";
import { MessageStream } from "../src/features/messages/messageStream.js";
import { BoundedQueue } from "../src/shared/boundedQueue.js";
import { createLogger } from "../src/shared/logger.js";
import { createRoom, signUp, useTestApp, useTestDatabase } from "./support/harness.js";

const t = useTestApp();
const sql = useTestDatabase();
let handle: DatabaseHandle;
beforeAll(async () => {
  handle = await openDatabase({
    url: inject("databaseUrl"),
    pgliteDir: "",
    poolSize: 2,
    logger: createLogger("error", { test: true }),
  });
});
afterAll(() => handle?.close());

/** A room with `count` stored messages (seq 1..count) from alice; bob is the viewer. */
async function roomWithMessages(count: number) {
  const [alice, bob] = await Promise.all([signUp(t.url), signUp(t.url)]);
  const roomId = await createRoom(t.url, alice!, [bob!]);
  await store(roomId, alice!.id, 1, count);
  return { roomId, alice: alice!, bob: bob! };
}

async function store(roomId: string, senderId: string, from: number, to: number) {
  await sql`
    insert into messages (id, room_id, seq, sender_id, body)
    select gen_random_uuid(), ${roomId}, n, ${senderId}, 'message ' || n from generate_series(${from}::int, ${to}::int) as n`;
  await sql`update rooms set last_seq = ${to} where id = ${roomId}`;
}

async function stored(roomId: string, seq: number): Promise<MessageRow> {
  const [row] = await handle.db
    .select()
    .from(messagesTable)
    .where(and(eq(messagesTable.roomId, roomId), eq(messagesTable.seq, seq)));
  return row!;
}

function stream(roomId: string, viewerId: string, afterSeq: number | null) {
  const live = new BoundedQueue<RoomEvent>(1000, () => new AppError("SERVICE_UNAVAILABLE", "overflow"));
  const added = async (seq: number) =>
    live.push({ type: "MessageAdded", roomId, message: (await stored(roomId, seq)) as never });
  return { live, added, messages: new MessageStream(handle.db, roomId, viewerId, afterSeq, live) };
}

async function take(messages: MessageStream, count: number): Promise<Array<number | string>> {
  const out: Array<number | string> = [];
  for (let i = 0; i < count; i++) {
    const item = await messages.next();
    if (item.done) break;
    out.push(item.value instanceof AppError ? item.value.code : item.value.seq);
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("MessageStream", () => {
  it("replays stored messages a page at a time, then continues live without duplicates", async () => {
    const { roomId, bob } = await roomWithMessages(250);
    const s = stream(roomId, bob.id, 0);
    await s.added(250); // already part of the replay: must not come twice
    await store(roomId, bob.id, 251, 251);
    await s.added(251);
    expect(await take(s.messages, 251)).toEqual(range(1, 251));
  });

  it("fills a gap in the live stream from the database, in order, and skips redelivered events", async () => {
    const { roomId, alice, bob } = await roomWithMessages(10);
    const s = stream(roomId, bob.id, 8);
    await s.added(9);
    await store(roomId, alice.id, 11, 130);
    await s.added(130); // 10..129 never came live
    await s.added(120); // redelivered
    await store(roomId, alice.id, 131, 131);
    await s.added(131);
    expect(await take(s.messages, 123)).toEqual(range(9, 131));
  });

  it("ends with FORBIDDEN when the viewer leaves, not when someone else does", async () => {
    const { roomId, alice, bob } = await roomWithMessages(1);
    const s = stream(roomId, bob.id, null);
    s.live.push({ type: "MemberLeft", roomId, userId: alice.id });
    await s.added(1);
    s.live.push({ type: "MemberLeft", roomId, userId: bob.id });
    await s.added(1);
    expect(await take(s.messages, 5)).toEqual([1, "FORBIDDEN"]);
    expect(await s.messages.next()).toEqual({ done: true, value: undefined });
  });

  it("returns at once while waiting for a live event", async () => {
    const { roomId, bob } = await roomWithMessages(1);
    const s = stream(roomId, bob.id, null);
    const parked = s.messages.next();
    await s.messages.return();
    expect(await parked).toEqual({ done: true, value: undefined });
  });
});
