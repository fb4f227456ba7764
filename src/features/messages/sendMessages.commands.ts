import { sql } from "drizzle-orm";
import { unnestAs } from "../../db/arrays.js";
import { rowsOf, type Transaction } from "../../db/client.js";
import { messages, roomMembers, rooms, type MessageRow } from "../../db/schema.js";
import { derivedUuid } from "../../commands/derivedId.js";
import type { CommandEnvelope, ManyResult } from "../../commands/protocol.js";
import { membershipError } from "../rooms/rooms.rules.js";

export interface SendMessagePayload {
  roomId: string;
  body: string;
  clientMessageId: string | null;
}

/**
 * A message's id: its command's, or for a message with a clientMessageId the id that names
 * (sender, room, clientMessageId), so a client's retry, which is a new command, finds the
 * message its first attempt stored by primary key, and a second copy cannot be stored.
 */
export const messageIdOf = ({ id, actorId, payload }: CommandEnvelope<SendMessagePayload>) =>
  payload.clientMessageId === null
    ? id
    : derivedUuid(`message:${actorId}:${payload.roomId}:${payload.clientMessageId}`);

/** One row of the statement below: one command's checks, and its message's columns (null unless stored). */
interface Decided {
  ord: number;
  room_found: boolean;
  member: boolean;
  id: string | null;
  room_id: string;
  seq: number;
  sender_id: string | null;
  body: string;
  client_message_id: string | null;
  created_at: string | Date;
}

/**
 * Applies a run of SendMessage commands in one statement, the same whatever its length (lists
 * travel as arrays): it checks each room and membership, moves each room's seq counter by its
 * number of new messages (the row lock orders concurrent writers of a room), and inserts the
 * messages with consecutive seqs in the run's order. Messages stored before (redeliveries,
 * client retries) were found by their ids already (findApplied); a retry within the run is
 * answered with its first attempt. (A sender's read position follows their own newest message
 * without a write: see the rooms service.) The result for each command is what `apply` would
 * have produced, in order.
 */
export async function sendMessages(
  tx: Transaction,
  commands: CommandEnvelope<SendMessagePayload>[],
): Promise<Array<ManyResult<MessageRow>>> {
  const messageIds = commands.map(messageIdOf);
  const firstInRun = new Map<string, number>();
  const retryOf = new Map<number, number>();
  messageIds.forEach((id, i) => {
    if (firstInRun.has(id)) retryOf.set(i, firstInRun.get(id)!);
    else firstInRun.set(id, i);
  });
  const unique = [...firstInRun.values()];
  const rows = await storeRun(
    tx,
    unique.map((i, position) => ({ command: commands[i]!, id: messageIds[i]!, ord: position + 1 })),
  );

  const results: Array<ManyResult<MessageRow>> = new Array(commands.length);
  for (const row of rows) {
    const i = unique[row.ord - 1]!;
    const { roomId } = commands[i]!.payload;
    const refused = membershipError(roomId, row.room_found, row.member);
    if (refused) results[i] = { ok: false, error: refused };
    else if (row.id === null) throw new Error(`room ${roomId} went away while its messages were stored; retrying`);
    else {
      const message = messageRowOf(row);
      const event = { type: "MessageAdded" as const, roomId, message, issuedAt: commands[i]!.issuedAt };
      results[i] = { ok: true, applied: { result: message, events: [event] } };
    }
  }
  for (const [i, first] of retryOf) {
    const answer = results[first]!;
    results[i] = answer.ok ? { ok: true, applied: { result: answer.applied.result } } : answer;
  }
  return results;
}

/** The statement: one row per new message, in the run's order (`ord`), with its checks. */
async function storeRun(
  tx: Transaction,
  run: Array<{ command: CommandEnvelope<SendMessagePayload>; id: string; ord: number }>,
): Promise<Decided[]> {
  const input = unnestAs("i", run, {
    id: ["uuid", (r) => r.id],
    room_id: ["uuid", (r) => r.command.payload.roomId],
    sender_id: ["uuid", (r) => r.command.actorId],
    body: ["text", (r) => r.command.payload.body],
    client_message_id: ["text", (r) => r.command.payload.clientMessageId],
    ord: ["int", (r) => r.ord],
  });
  const result = await tx.execute(sql`
    with checked as (
      select i.*, r.id is not null as room_found, m.user_id is not null as member
      from ${input}
        left join ${rooms} r on r.id = i.room_id
        left join ${roomMembers} m on m.room_id = i.room_id and m.user_id = i.sender_id
    ), counts as (
      select room_id, count(*)::int as n from checked where member group by room_id
    ), reserved as (
      update ${rooms} set last_seq = last_seq + counts.n, last_activity_at = clock_timestamp()
      from counts where ${rooms}.id = counts.room_id
      returning ${rooms}.id as room_id, ${rooms}.last_seq - counts.n as base
    ), stored as (
      insert into ${messages} (id, room_id, seq, sender_id, body, client_message_id)
      select c.id, c.room_id, reserved.base + row_number() over (partition by c.room_id order by c.ord),
        c.sender_id, c.body, c.client_message_id
      from checked c join reserved using (room_id)
      where c.member
      returning *
    )
    select c.ord, c.room_found, c.member, s.id, s.room_id, s.seq, s.sender_id, s.body,
      s.client_message_id, s.created_at
    from checked c left join stored s on s.id = c.id
    order by c.ord`);
  return rowsOf<Decided>(result);
}

const messageRowOf = (row: Decided): MessageRow => ({
  id: row.id!,
  roomId: row.room_id,
  seq: row.seq,
  senderId: row.sender_id,
  body: row.body,
  clientMessageId: row.client_message_id,
  createdAt: messages.createdAt.mapFromDriverValue(row.created_at as string) as Date,
  editedAt: null,
  deletedAt: null,
});
