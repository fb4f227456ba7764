import { and, count, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { defineCommand, messageRecord, type DomainEvent } from "../../commands/protocol.js";
import { messageColumns, messages, mutes, reports, users } from "../../db/schema.js";
import { notFound } from "../../shared/errors.js";
import { liveMessage } from "../messages/lifecycle.commands.js";
import { reportReason } from "./moderation.rules.js";

/** A member reports a live message of their room, once: the count of reporters goes out for the moderation consumer. */
export const reportMessageCommand = defineCommand({
  type: "ReportMessage",
  payload: z.object({ roomId: z.uuid(), messageId: z.uuid(), reason: reportReason }),
  result: z.object({ reported: z.literal(true) }),
  key: (p) => p.roomId,
  async apply(tx, { payload, actorId }) {
    await liveMessage(tx, payload.roomId, payload.messageId, actorId!);
    const added = await tx
      .insert(reports)
      .values({ messageId: payload.messageId, reporterId: actorId!, reason: payload.reason })
      .onConflictDoNothing()
      .returning({ id: reports.messageId });
    if (added.length === 0) return { result: { reported: true as const } };
    const [{ n }] = (await tx.select({ n: count() }).from(reports).where(eq(reports.messageId, payload.messageId))) as [
      { n: number },
    ];
    const event: DomainEvent = {
      type: "MessageReported",
      roomId: payload.roomId,
      messageId: payload.messageId,
      reports: n,
    };
    return { result: { reported: true as const }, events: [event] };
  },
});

/** Issued by the moderation consumer: the message is hidden for everyone pending review (once). */
export const hideMessageCommand = defineCommand({
  type: "HideMessage",
  payload: z.object({ roomId: z.uuid(), messageId: z.uuid() }),
  result: messageRecord,
  key: (p) => p.roomId,
  async apply(tx, { payload }) {
    const [hidden] = await tx
      .update(messages)
      .set({ hiddenAt: sql`clock_timestamp()` })
      .where(and(eq(messages.id, payload.messageId), eq(messages.roomId, payload.roomId), isNull(messages.hiddenAt)))
      .returning();
    if (!hidden) {
      const [message] = await tx.select(messageColumns).from(messages).where(eq(messages.id, payload.messageId));
      if (!message) throw notFound(`no message with id ${payload.messageId}`);
      return { result: message };
    }
    const { position: _position, ...message } = hidden;
    return { result: message, events: [{ type: "MessageUpdated", roomId: payload.roomId, message, change: "hidden" }] };
  },
});

/** Issued by the moderation consumer: the user's sends are refused until `until` (a later mute extends it). */
export const muteUserCommand = defineCommand({
  type: "MuteUser",
  payload: z.object({ userId: z.uuid(), until: z.iso.datetime(), reason: z.string().min(1).max(200) }),
  result: z.object({ until: z.iso.datetime() }),
  key: (p) => p.userId,
  async apply(tx, { payload }) {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, payload.userId));
    if (!user) throw notFound(`no user with id ${payload.userId}`);
    const [mute] = await tx
      .insert(mutes)
      .values({ userId: payload.userId, until: new Date(payload.until), reason: payload.reason })
      .onConflictDoUpdate({
        target: mutes.userId,
        set: { until: sql`greatest(${mutes.until}, excluded.until)`, reason: payload.reason },
      })
      .returning();
    const until = mute!.until.toISOString();
    const event: DomainEvent = { type: "UserMuted", userId: payload.userId, until, reason: payload.reason };
    return { result: { until }, events: [event] };
  },
});

export const moderationCommands = [reportMessageCommand, hideMessageCommand, muteUserCommand];
