import { inArray, sql, type SQL } from "drizzle-orm";
import type { Transaction } from "../../db/client.js";
import { messages, roomMembers, rooms, type MessageRow } from "../../db/schema.js";
import type { CommandEnvelope, ManyResult } from "../../commands/protocol.js";
import { forbidden, notFound } from "../../errors.js";

export interface SendMessagePayload {
  roomId: string;
  body: string;
  clientMessageId: string | null;
}

const pairKey = (roomId: string, userId: string) => `${roomId}|${userId}`;
const clientKey = (roomId: string, userId: string, clientMessageId: string) => `${roomId}|${userId}|${clientMessageId}`;
const tuples = (rows: SQL[]) => sql.join(rows, sql`, `);

/**
 * Applies a run of SendMessage commands with four statements whatever its length: check
 * rooms and memberships, find client retries, reserve each room's seqs with one UPDATE and
 * insert all messages in one INSERT. (A sender's read position follows their own newest
 * message without a write: see the rooms service.) The result for each command is what
 * `apply` would have produced, in order.
 */
export async function sendMessages(
  tx: Transaction,
  commands: CommandEnvelope<SendMessagePayload>[],
): Promise<Array<ManyResult<MessageRow>>> {
  const results: Array<ManyResult<MessageRow> | undefined> = new Array(commands.length);
  const roomIds = [...new Set(commands.map((c) => c.payload.roomId))];
  const pairs = [...new Map(commands.map((c) => [pairKey(c.payload.roomId, c.actorId!), c])).values()];

  // Three independent reads, issued together so they share a round trip: which rooms exist,
  // which senders are members, and which client ids were stored before (client retries).
  const withClientId = commands.filter((c) => c.payload.clientMessageId !== null);
  const [roomRows, memberRows, earlierRows] = await Promise.all([
    tx.select({ id: rooms.id }).from(rooms).where(inArray(rooms.id, roomIds)),
    tx
      .select({ roomId: roomMembers.roomId, userId: roomMembers.userId })
      .from(roomMembers)
      .where(
        sql`(${roomMembers.roomId}, ${roomMembers.userId}) in (${tuples(pairs.map((c) => sql`(${c.payload.roomId}::uuid, ${c.actorId}::uuid)`))})`,
      ),
    withClientId.length === 0
      ? []
      : tx
          .select()
          .from(messages)
          .where(
            sql`(${messages.roomId}, ${messages.senderId}, ${messages.clientMessageId}) in (${tuples(
              withClientId.map(
                (c) => sql`(${c.payload.roomId}::uuid, ${c.actorId}::uuid, ${c.payload.clientMessageId})`,
              ),
            )})`,
          ),
  ]);
  const existingRooms = new Set(roomRows.map((r) => r.id));
  const members = new Set(memberRows.map((m) => pairKey(m.roomId, m.userId)));
  const earlier = new Map(earlierRows.map((m) => [clientKey(m.roomId, m.senderId!, m.clientMessageId!), m]));

  // Decide each command in order; a retry within the run points at the first attempt.
  const accepted: number[] = [];
  const firstInRun = new Map<string, number>();
  const retryOf = new Map<number, number>();
  commands.forEach((c, i) => {
    const { roomId, clientMessageId } = c.payload;
    if (!existingRooms.has(roomId))
      return void (results[i] = { ok: false, error: notFound(`no room with id ${roomId}`) });
    if (!members.has(pairKey(roomId, c.actorId!))) {
      return void (results[i] = { ok: false, error: forbidden(`you are not a member of room ${roomId}`) });
    }
    if (clientMessageId !== null) {
      const key = clientKey(roomId, c.actorId!, clientMessageId);
      const stored = earlier.get(key);
      if (stored) return void (results[i] = { ok: true, applied: { result: stored } }); // already stored and announced
      if (firstInRun.has(key)) return void retryOf.set(i, firstInRun.get(key)!);
      firstInRun.set(key, i);
    }
    accepted.push(i);
  });
  if (accepted.length === 0) return results as Array<ManyResult<MessageRow>>;

  // Reserve seqs: each room's counter moves by its number of new messages, under the row lock.
  const perRoom = new Map<string, number>();
  for (const i of accepted)
    perRoom.set(commands[i]!.payload.roomId, (perRoom.get(commands[i]!.payload.roomId) ?? 0) + 1);
  const increments = sql`case ${rooms.id} ${sql.join(
    [...perRoom].map(([id, n]) => sql`when ${id}::uuid then ${n}::int`),
    sql` `,
  )} end`;
  const reserved = await tx
    .update(rooms)
    .set({ lastSeq: sql`${rooms.lastSeq} + ${increments}`, lastActivityAt: sql`clock_timestamp()` })
    .where(inArray(rooms.id, [...perRoom.keys()]))
    .returning({ id: rooms.id, lastSeq: rooms.lastSeq });
  const nextSeq = new Map(reserved.map((r) => [r.id, r.lastSeq - perRoom.get(r.id)! + 1]));

  const stored = await tx
    .insert(messages)
    .values(
      accepted.map((i) => {
        const c = commands[i]!;
        const seq = nextSeq.get(c.payload.roomId)!;
        nextSeq.set(c.payload.roomId, seq + 1);
        return {
          id: c.id,
          roomId: c.payload.roomId,
          seq,
          senderId: c.actorId,
          body: c.payload.body,
          clientMessageId: c.payload.clientMessageId,
        };
      }),
    )
    .returning();
  const byCommand = new Map(stored.map((m) => [m.id, m]));

  for (const i of accepted) {
    const c = commands[i]!;
    const message = byCommand.get(c.id)!;
    results[i] = {
      ok: true,
      applied: {
        result: message,
        events: [{ type: "MessageAdded", roomId: c.payload.roomId, message, issuedAt: c.issuedAt }],
      },
    };
  }
  for (const [i, first] of retryOf) results[i] = { ok: true, applied: { result: byCommand.get(commands[first]!.id)! } };
  return results as Array<ManyResult<MessageRow>>;
}
