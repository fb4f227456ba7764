import { and, eq, ne } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, messageRecord, type RoomEvent } from "../../commands/protocol.js";
import type { Transaction } from "../../db/client.js";
import { anyOf } from "../../db/arrays.js";
import { messageColumns, messages, roomMembers, users, type MessageRow } from "../../db/schema.js";
import { memberOf, requireMember } from "../rooms/membership.js";
import { moderates } from "../rooms/rooms.rules.js";
import { checkChangeable, checkDeletable, checkLive, mentionedUsernames, messageBody } from "./messages.rules.js";

/**
 * The message, locked for this transaction, if the actor belongs to its room and it is not
 * deleted (NOT_FOUND, FORBIDDEN otherwise). Checked here, in the transaction, whatever the
 * API checked before; reactions use it too.
 */
export async function liveMessage(tx: Transaction, roomId: string, messageId: string, actorId: string) {
  await requireMember(tx, roomId, actorId);
  const [message] = await tx
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.roomId, roomId)))
    .for("update");
  return checkLive(message, messageId);
}

/** As liveMessage, and the actor sent it: only a sender changes a message. */
async function ownMessage(tx: Transaction, roomId: string, messageId: string, actorId: string) {
  const message = await liveMessage(tx, roomId, messageId, actorId);
  checkChangeable(message, actorId);
  return message;
}

const updated = (message: MessageRow, change: string): RoomEvent => ({
  type: "MessageUpdated",
  roomId: message.roomId,
  message,
  change,
});

/**
 * A command by any member that changes something about a live message of the room (its
 * reactions, its pin): `change` does it and says whether anything changed; only a change is
 * announced, as a MessageUpdated named `announced` (a repeat, or a redelivery, is not).
 */
export function messageChangeCommand<P extends { roomId: string; messageId: string }>(
  type: string,
  payload: z.ZodType<P>,
  announced: string,
  change: (tx: Transaction, p: P, message: MessageRow, actorId: string) => Promise<boolean>,
) {
  return defineCommand({
    type,
    payload,
    result: messageRecord,
    key: (p) => p.roomId,
    async apply(tx, { payload: p, actorId }) {
      const message = await liveMessage(tx, p.roomId, p.messageId, actorId!);
      const changed = await change(tx, p, message, actorId!);
      return { result: message, events: changed ? [updated(message, announced)] : [] };
    },
  });
}

/** The members of the room, other than its sender, that a body mentions, in order of mention. */
async function mentionsIn(tx: Transaction, roomId: string, body: string, senderId: string) {
  const names = mentionedUsernames(body);
  if (names.length === 0) return [];
  const found = await tx
    .select({ id: users.id, username: users.username })
    .from(users)
    .innerJoin(roomMembers, and(eq(roomMembers.userId, users.id), eq(roomMembers.roomId, roomId)))
    .where(and(anyOf(users.username, names), ne(users.id, senderId)));
  return found.sort((a, b) => names.indexOf(a.username) - names.indexOf(b.username)).map((u) => u.id);
}

export const editMessageCommand = defineCommand({
  type: "EditMessage",
  payload: z.object({ roomId: z.uuid(), messageId: z.uuid(), body: messageBody }),
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    const before = await ownMessage(tx, payload.roomId, payload.messageId, actorId!);
    const mentionIds = await mentionsIn(tx, payload.roomId, payload.body, actorId!);
    const [message] = await tx
      .update(messages)
      .set({ body: payload.body, editedAt: new Date(), mentionIds })
      .where(eq(messages.id, payload.messageId))
      .returning(messageColumns);
    // Only someone the edit mentions for the first time is told (their feed's MentionedEvent).
    const mentioned = mentionIds.filter((id) => !before.mentionIds.includes(id));
    const event = { ...updated(message!, "edited"), ...(mentioned.length > 0 ? { mentioned } : {}) };
    return { result: message!, events: [event] };
  },
});

export const deleteMessageCommand = defineCommand({
  type: "DeleteMessage",
  payload: z.object({ roomId: z.uuid(), messageId: z.uuid() }),
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }, { hooks }) {
    const live = await liveMessage(tx, payload.roomId, payload.messageId, actorId!);
    const { room, role } = await memberOf(tx, payload.roomId, actorId!);
    checkDeletable(live, actorId!, moderates(room, role));
    // A tombstone: the text is gone for everyone, with what other features keep about it
    // (reactions, saved copies); the row stays so the room's seq has no gap.
    await hooks.messageDeleted(tx, payload.messageId);
    const [message] = await tx
      .update(messages)
      .set({ body: "", deletedAt: new Date(), deletedBy: actorId!, mentionIds: [] })
      .where(eq(messages.id, payload.messageId))
      .returning(messageColumns);
    return { result: message!, events: [updated(message!, "deleted")] };
  },
});
