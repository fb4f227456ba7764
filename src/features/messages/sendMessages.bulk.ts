import { sql } from "drizzle-orm";
import { anyOf, unnestAs } from "../../db/arrays.js";
import type { Transaction } from "../../db/client.js";
import { messages, roomMembers, rooms, type MessageRow } from "../../db/schema.js";
import { derivedUuid } from "../../commands/derivedId.js";
import type { CommandEnvelope, ManyResult } from "../../commands/protocol.js";
import { forbidden, notFound } from "../../errors.js";

export interface SendMessagePayload {
  roomId: string;
  body: string;
  clientMessageId: string | null;
}

const pairKey = (roomId: string, userId: string) => `${roomId}|${userId}`;

/**
 * A message's id: its command's, or for a message with a clientMessageId the id that names
 * (sender, room, clientMessageId), so a client's retry, which is a new command, finds the
 * message its first attempt stored by primary key, and a second copy cannot be stored.
 */
export const messageIdOf = ({ id, actorId, payload }: CommandEnvelope<SendMessagePayload>) =>
  payload.clientMessageId === null
    ? id
    : derivedUuid(`message:${actorId}:${payload.roomId}:${payload.clientMessageId}`);

/**
 * Applies a run of SendMessage commands with the same three statements whatever its length
 * (lists travel as arrays): check rooms and memberships, reserve each room's seqs with one
 * UPDATE and insert all messages in one INSERT. Messages stored before (redeliveries, client retries) were found by their ids
 * already (findApplied); a retry within the run points at its first attempt. (A sender's read
 * position follows their own newest message without a write: see the rooms service.) The
 * result for each command is what `apply` would have produced, in order.
 */
export async function sendMessages(
  tx: Transaction,
  commands: CommandEnvelope<SendMessagePayload>[],
): Promise<Array<ManyResult<MessageRow>>> {
  const results: Array<ManyResult<MessageRow> | undefined> = new Array(commands.length);
  const messageIds = commands.map(messageIdOf);
  const roomIds = [...new Set(commands.map((c) => c.payload.roomId))];
  const pairs = [...new Map(commands.map((c) => [pairKey(c.payload.roomId, c.actorId!), c])).values()];

  // Two independent reads, issued together so they share a round trip: which rooms exist and
  // which senders are members.
  const [roomRows, memberRows] = await Promise.all([
    tx.select({ id: rooms.id }).from(rooms).where(anyOf(rooms.id, roomIds)),
    tx
      .select({ roomId: roomMembers.roomId, userId: roomMembers.userId })
      .from(roomMembers)
      .where(
        sql`(${roomMembers.roomId}, ${roomMembers.userId}) in (select * from ${unnestAs("pair", pairs, {
          room_id: ["uuid", (c) => c.payload.roomId],
          user_id: ["uuid", (c) => c.actorId],
        })})`,
      ),
  ]);
  const existingRooms = new Set(roomRows.map((r) => r.id));
  const members = new Set(memberRows.map((m) => pairKey(m.roomId, m.userId)));

  // Decide each command in order; a retry within the run points at the first attempt.
  const accepted: number[] = [];
  const firstInRun = new Map<string, number>();
  const retryOf = new Map<number, number>();
  commands.forEach((c, i) => {
    const { roomId } = c.payload;
    if (!existingRooms.has(roomId))
      return void (results[i] = { ok: false, error: notFound(`no room with id ${roomId}`) });
    if (!members.has(pairKey(roomId, c.actorId!))) {
      return void (results[i] = { ok: false, error: forbidden(`you are not a member of room ${roomId}`) });
    }
    const messageId = messageIds[i]!;
    if (firstInRun.has(messageId)) return void retryOf.set(i, firstInRun.get(messageId)!);
    firstInRun.set(messageId, i);
    accepted.push(i);
  });
  if (accepted.length === 0) return results as Array<ManyResult<MessageRow>>;

  // Reserve seqs: each room's counter moves by its number of new messages, under the row lock.
  const perRoom = new Map<string, number>();
  for (const i of accepted)
    perRoom.set(commands[i]!.payload.roomId, (perRoom.get(commands[i]!.payload.roomId) ?? 0) + 1);
  const reserved = await tx
    .update(rooms)
    .set({ lastSeq: sql`${rooms.lastSeq} + reserved.n`, lastActivityAt: sql`clock_timestamp()` })
    .from(unnestAs("reserved", [...perRoom], { id: ["uuid", ([id]) => id], n: ["int", ([, n]) => n] }))
    .where(sql`${rooms.id} = reserved.id`)
    .returning({ id: rooms.id, lastSeq: rooms.lastSeq });
  const nextSeq = new Map(reserved.map((r) => [r.id, r.lastSeq - perRoom.get(r.id)! + 1]));

  const rows = accepted.map((i) => {
    const c = commands[i]!;
    const seq = nextSeq.get(c.payload.roomId)!;
    nextSeq.set(c.payload.roomId, seq + 1);
    return { ...c.payload, id: messageIds[i]!, seq, senderId: c.actorId };
  });
  // insert ... select fills every column, in the table's order.
  const stored = await tx
    .insert(messages)
    .select(
      sql`select m.*, clock_timestamp(), null::timestamptz, null::timestamptz from ${unnestAs("m", rows, {
        id: ["uuid", (r) => r.id],
        room_id: ["uuid", (r) => r.roomId],
        seq: ["int", (r) => r.seq],
        sender_id: ["uuid", (r) => r.senderId],
        body: ["text", (r) => r.body],
        client_message_id: ["text", (r) => r.clientMessageId],
      })}`,
    )
    .returning();
  const byId = new Map(stored.map((m) => [m.id, m]));

  for (const i of accepted) {
    const c = commands[i]!;
    const message = byId.get(messageIds[i]!)!;
    results[i] = {
      ok: true,
      applied: {
        result: message,
        events: [{ type: "MessageAdded", roomId: c.payload.roomId, message, issuedAt: c.issuedAt }],
      },
    };
  }
  for (const [i, first] of retryOf) results[i] = { ok: true, applied: { result: byId.get(messageIds[first]!)! } };
  return results as Array<ManyResult<MessageRow>>;
}
