/** The feed's positions and cursors, and its replay as the worker's records allow it, over PGlite. */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { commandLog, messages } from "../../src/db/schema.js";
import { decodeCursor, encodeCursor } from "../../src/features/live/cursor.js";
import { FeedReplay } from "../../src/features/live/replay.js";
import { commandRecord, useWorker } from "./support/commands.js";

const w = useWorker();

/** All of a room's commands go to one partition; here, partition 0, offsets from 100. */
let offset = 100;
const at = (record: ReturnType<typeof commandRecord>) => ({ ...record, partition: 0, offset: String(offset++) });

it("writes down where each command stood, in its message row or its command_log row", async () => {
  const [alice, bob] = [await w.signUp(), await w.signUp()];
  const roomId = await w.room(alice, [bob]);
  const send = at(w.send(roomId, "hello", alice));
  const [sent] = await w.apply(send);
  const id = (sent!.answer!.outcome as { result: { id: string } }).result.id;
  const [message] = await w.db.select().from(messages).where(eq(messages.id, id));
  expect(message!.position).toBe(Number(send.offset));
  const read = at(commandRecord("MarkRead", { roomId, seq: 1 }, bob));
  await w.apply(read);
  const [row] = await w.db
    .select()
    .from(commandLog)
    .where(eq(commandLog.commandId, JSON.parse(read.value).id));
  expect(row).toMatchObject({ partition: 0, logOffset: Number(read.offset), roomId, roomEvents: true });
});

it("replays a room's changes after a cursor, in order, and refuses a replay past its limit", async () => {
  const [alice, bob] = [await w.signUp(), await w.signUp()];
  const roomId = await w.room(alice, [bob]);
  const [first] = await w.apply(at(w.send(roomId, "before the cursor", alice)));
  const cursor = new Map([[0, [offset - 1, 0] as const]]);
  const [second] = await w.apply(at(w.send(roomId, "after the cursor", alice)));
  const messageId = (second!.answer!.outcome as { result: { id: string } }).result.id;
  await w.apply(at(commandRecord("EditMessage", { roomId, messageId, body: "edited" }, alice)));
  await w.apply(at(commandRecord("MarkRead", { roomId, seq: 2 }, bob)));
  expect(first!.kind).toBe("applied");

  const replay = new FeedReplay(w.db, { commandPartitionOf: () => 0 }, 100);
  const replayed = await replay.since(bob, cursor, new Date(0), [roomId]);
  expect(replayed.map(({ event }) => event.type)).toEqual(["MessageAdded", "MessageUpdated", "ReadPositionMoved"]);
  expect(replayed.map(({ position }) => position.place[0])).toEqual([offset - 3, offset - 2, offset - 1]);
  // A room never replays for someone outside it, and a long replay is refused.
  expect(await replay.since(bob, cursor, new Date(0), [])).toEqual([]);
  await expect(
    new FeedReplay(w.db, { commandPartitionOf: () => 0 }, 2).since(bob, cursor, new Date(0), [roomId]),
  ).rejects.toMatchObject({ code: "CURSOR_EXPIRED" });
});

it("reads back the cursors it writes, and refuses forged and expired ones with their codes", () => {
  const positions = new Map([
    [0, [12, 0] as const],
    [3, [7, 2] as const],
  ]);
  const now = Date.now();
  expect(decodeCursor(encodeCursor(positions, now), 168, now).positions).toEqual(positions);
  for (const forged of ["", "abc", Buffer.from("f1|x|0:1:0").toString("base64url"), randomUUID()])
    expect(() => decodeCursor(forged, 168, now)).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT" }));
  const weekOld = encodeCursor(positions, now - 8 * 24 * 3_600_000);
  expect(() => decodeCursor(weekOld, 168, now)).toThrow(expect.objectContaining({ code: "CURSOR_EXPIRED" }));
});
