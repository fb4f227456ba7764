import { sql } from "drizzle-orm";
import { anyOf, unnestAs } from "../../db/arrays.js";
import { rowsOf, type Transaction } from "../../db/client.js";
import { messageColumns, messages, mutes, roomMembers, rooms, users, type MessageRow } from "../../db/schema.js";
import { derivedUuid } from "../../commands/derivedId.js";
import type { CommandEnvelope, ManyResult, RoomEventOf } from "../../commands/protocol.js";
import { membershipError } from "../rooms/rooms.rules.js";
import { mentionedUsernames, mutedError, referenceError, type Reference } from "./messages.rules.js";

export interface SendMessagePayload {
  roomId: string;
  body: string;
  clientMessageId: string | null;
  /** A reply: the top-level message of the room whose thread it joins. */
  parentId?: string | null;
  quotedMessageId?: string | null;
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
  parent_ref: Reference;
  quoted_ref: Reference;
  /** Stored earlier in this transaction (a client's retry in another run of the chunk). */
  already: boolean;
  /** Until when the sender is muted (features/moderation); null when they are not. */
  muted_until: string | Date | null;
  id: string | null;
  room_id: string;
  seq: number;
  sender_id: string | null;
  body: string;
  client_message_id: string | null;
  created_at: string | Date;
  parent_id: string | null;
  quoted_message_id: string | null;
  mention_ids: string[];
}

/**
 * Applies a run of SendMessage commands in one statement, the same whatever its length (lists
 * travel as arrays): it checks each room, membership, thread parent and quoted message, moves
 * each room's seq counter by its number of new messages (the row lock orders concurrent
 * writers of a room), and inserts the messages with consecutive seqs in the run's order, with
 * the room members their bodies mention. Messages stored before (redeliveries, client retries)
 * were found by their ids already (findApplied); a retry within the run is answered with its
 * first attempt. (A sender's read position follows their own newest message without a write:
 * see the rooms service.) The result for each command is what `apply` would have produced, in
 * order.
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
  const earlier = await storedEarlier(tx, rows);

  const results: Array<ManyResult<MessageRow>> = new Array(commands.length);
  const added: Array<[index: number, MessageRow]> = [];
  for (const row of rows) {
    const i = unique[row.ord - 1]!;
    const { roomId } = commands[i]!.payload;
    const refused =
      membershipError(roomId, row.room_found, row.member) ??
      mutedError(row.muted_until) ??
      referenceError({ parent: row.parent_ref, quoted: row.quoted_ref }, roomId);
    if (refused) results[i] = { ok: false, error: refused };
    else if (row.already) results[i] = { ok: true, applied: { result: earlier.get(messageIds[i]!)! } };
    else if (row.id === null) throw new Error(`room ${roomId} went away while its messages were stored; retrying`);
    else added.push([i, messageRowOf(row)]);
  }
  for (const [i, message] of added)
    results[i] = { ok: true, applied: { result: message, events: [addedEvent(message, commands[i]!.issuedAt)] } };
  for (const [i, first] of retryOf) {
    const answer = results[first]!;
    results[i] = answer.ok ? { ok: true, applied: { result: answer.applied.result } } : answer;
  }
  return results;
}

/** A stored message's event: a reply's tells `messageUpdated` subscribers its thread changed (see MessagesService.updates). */
export const addedEvent = (message: MessageRow, issuedAt?: string): RoomEventOf<"MessageAdded"> => ({
  type: "MessageAdded",
  roomId: message.roomId,
  message,
  ...(issuedAt ? { issuedAt } : {}),
});

/** Messages a run found stored already in this transaction (rare: a retry in a later run of a chunk). */
async function storedEarlier(tx: Transaction, rows: Decided[]): Promise<Map<string, MessageRow>> {
  const ids = rows.filter((r) => r.already).map((r) => r.id!);
  if (ids.length === 0) return new Map();
  const found = await tx.select(messageColumns).from(messages).where(anyOf(messages.id, ids));
  return new Map(found.map((m) => [m.id, m]));
}

/** The run as a table: one row per command, the columns the statement checks and stores. */
function runInput(run: Array<{ command: CommandEnvelope<SendMessagePayload>; id: string; ord: number }>) {
  return unnestAs("i", run, {
    id: ["uuid", (r) => r.id],
    room_id: ["uuid", (r) => r.command.payload.roomId],
    sender_id: ["uuid", (r) => r.command.actorId],
    body: ["text", (r) => r.command.payload.body],
    client_message_id: ["text", (r) => r.command.payload.clientMessageId],
    ord: ["int", (r) => r.ord],
    parent_id: ["uuid", (r) => r.command.payload.parentId ?? null],
    quoted_message_id: ["uuid", (r) => r.command.payload.quotedMessageId ?? null],
    // Space-separated: one text per row travels in an array where a list per row would not.
    mention_names: ["text", (r) => mentionedUsernames(r.command.payload.body).join(" ")],
    position: ["bigint", (r) => r.command.position?.offset ?? null],
  });
}

/** The statement: one row per new message, in the run's order (`ord`), with its checks. */
async function storeRun(
  tx: Transaction,
  run: Array<{ command: CommandEnvelope<SendMessagePayload>; id: string; ord: number }>,
): Promise<Decided[]> {
  const input = runInput(run);
  const result = await tx.execute(sql`
    with checked as (
      select i.*, r.id is not null as room_found, m.user_id is not null as member, e.id is not null as already,
        mu.until as muted_until,
        case when i.parent_id is null then 'none'
          when p.id is null or p.room_id <> i.room_id then 'missing'
          when p.parent_id is not null then 'reply' else 'ok' end as parent_ref,
        case when i.quoted_message_id is null then 'none'
          when q.id is null or q.room_id <> i.room_id then 'missing'
          when q.deleted_at is not null then 'deleted' else 'ok' end as quoted_ref
      from ${input}
        left join ${rooms} r on r.id = i.room_id
        left join ${roomMembers} m on m.room_id = i.room_id and m.user_id = i.sender_id
        left join ${messages} e on e.id = i.id
        left join ${messages} p on p.id = i.parent_id
        left join ${messages} q on q.id = i.quoted_message_id
        left join ${mutes} mu on mu.user_id = i.sender_id and mu.until > now()
    ), accepted as (
      select * from checked
      where member and not already and muted_until is null and parent_ref in ('none', 'ok') and quoted_ref in ('none', 'ok')
    ), counts as (
      select room_id, count(*)::int as n from accepted group by room_id
    ), reserved as (
      update ${rooms} set last_seq = last_seq + counts.n, last_activity_at = clock_timestamp()
      from counts where ${rooms}.id = counts.room_id
      returning ${rooms}.id as room_id, ${rooms}.last_seq - counts.n as base
    ), stored as (
      insert into ${messages} (id, room_id, seq, sender_id, body, client_message_id, parent_id, quoted_message_id,
        mention_ids, position)
      select c.id, c.room_id, reserved.base + row_number() over (partition by c.room_id order by c.ord),
        c.sender_id, c.body, c.client_message_id, c.parent_id, c.quoted_message_id,
        case when c.mention_names = '' then '{}'::uuid[] else array(
          select u.id from ${users} u join ${roomMembers} mm on mm.user_id = u.id and mm.room_id = c.room_id
          where u.username = any(string_to_array(c.mention_names, ' ')) and u.id <> c.sender_id
          order by array_position(string_to_array(c.mention_names, ' '), u.username)) end,
        c.position
      from accepted c join reserved using (room_id)
      returning *
    )
    select c.ord, c.room_found, c.member, c.parent_ref, c.quoted_ref, c.already, c.muted_until,
      case when c.already then c.id else s.id end as id,
      s.room_id, s.seq, s.sender_id, s.body, s.client_message_id, s.created_at, s.parent_id, s.quoted_message_id,
      s.mention_ids
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
  deletedBy: null,
  hiddenAt: null,
  parentId: row.parent_id,
  quotedMessageId: row.quoted_message_id,
  mentionIds: row.mention_ids,
});
