import { z } from "zod";
import type { Transaction } from "../db/client.js";
import { errorCodes, type AppError, type ErrorCode } from "../shared/errors.js";

/** A command as it travels on `chat.commands`. */
export const commandEnvelope = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  /** The signed-in user who issued it, or null (sign-up). */
  actorId: z.uuid().nullable(),
  issuedAt: z.iso.datetime(),
  payload: z.unknown(),
});
export type CommandEnvelope<P = unknown> = Omit<z.infer<typeof commandEnvelope>, "payload"> & {
  payload: P;
  /** Where it stood in chat.commands, as the worker fetched it (a producer never sets this). */
  position?: CommandPosition;
};

/**
 * A command's place in chat.commands. Each partition is applied in order by one worker at a
 * time, so within a partition this is the order its commands' effects were committed in: the
 * feed's cursors are made of these (src/features/live/positions.ts).
 */
export interface CommandPosition {
  partition: number;
  offset: number;
}

/** A stored message as it travels in results and events. */
export const messageRecord = z.object({
  id: z.uuid(),
  roomId: z.uuid(),
  seq: z.number().int().positive(),
  senderId: z.uuid().nullable(),
  body: z.string(),
  clientMessageId: z.string().nullable(),
  createdAt: z.coerce.date(),
  editedAt: z.coerce.date().nullable().default(null),
  deletedAt: z.coerce.date().nullable().default(null),
  deletedBy: z.uuid().nullable().default(null),
  hiddenAt: z.coerce.date().nullable().default(null),
  /** Set on a reply: the top-level message whose thread it is in. */
  parentId: z.uuid().nullable().default(null),
  quotedMessageId: z.uuid().nullable().default(null),
  /** Room members the body mentions, found by the worker. */
  mentionIds: z.array(z.uuid()).default([]),
});

/** Domain events on `chat.events`, delivered to subscribers of the room's channel. */
export const roomEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("MessageAdded"),
    roomId: z.uuid(),
    message: messageRecord,
    /** When the sendMessage command was issued, for the delivery-latency metric. */
    issuedAt: z.iso.datetime().optional(),
  }),
  /**
   * A stored message changed. `change` is named by the feature that changed it: "edited",
   * "deleted" (a tombstone: empty body, seq kept), "reactions", ...
   */
  z.object({
    type: z.literal("MessageUpdated"),
    roomId: z.uuid(),
    message: messageRecord,
    change: z.string().min(1).max(64),
    /** Users an edit mentions who were not mentioned before (their feeds get a MentionedEvent). */
    mentioned: z.array(z.uuid()).optional(),
  }),
  /** The user left, was removed (`removedBy`), or deleted their account: their subscriptions to the room end. */
  z.object({ type: z.literal("MemberLeft"), roomId: z.uuid(), userId: z.uuid(), removedBy: z.uuid().optional() }),
  /** A room was created with these members (the creator among them). */
  z.object({ type: z.literal("RoomCreated"), roomId: z.uuid(), creatorId: z.uuid(), memberIds: z.array(z.uuid()) }),
  /** A member's read position moved (markRead); a sender's moves with each message they send, without this event. */
  z.object({ type: z.literal("ReadPositionMoved"), roomId: z.uuid(), userId: z.uuid(), lastReadSeq: z.number().int() }),
  /** A member's role changed: named by the owner, or the room handed over (`changedBy` absent then). */
  z.object({
    type: z.literal("MemberRoleChanged"),
    roomId: z.uuid(),
    userId: z.uuid(),
    role: z.enum(["OWNER", "ADMIN", "MEMBER"]),
    changedBy: z.uuid().optional(),
  }),
  /** The room got a new name from its owner or an admin. */
  z.object({ type: z.literal("RoomRenamed"), roomId: z.uuid(), name: z.string(), renamedBy: z.uuid() }),
  /**
   * A member reported a message (`reports`: how many members have, now). For the moderation
   * consumer: feeds and room streams pass it over, and nobody is told who reported.
   */
  z.object({
    type: z.literal("MessageReported"),
    roomId: z.uuid(),
    messageId: z.uuid(),
    reports: z.number().int().positive(),
  }),
  /** A member set their notification level in the room: their own feeds mark events by it. */
  z.object({
    type: z.literal("NotificationLevelChanged"),
    roomId: z.uuid(),
    userId: z.uuid(),
    /** One of features/notifications' levels (its command checked it). */
    level: z.string().min(1).max(16),
  }),
  /**
   * Ephemeral, published by an API process, never stored: a member started or stopped typing.
   * `typing: true` holds for TYPING_TTL_MS unless repeated.
   */
  z.object({ type: z.literal("Typing"), roomId: z.uuid(), userId: z.uuid(), typing: z.boolean() }),
]);
export type RoomEvent = z.infer<typeof roomEvent>;
export type RoomEventOf<T extends RoomEvent["type"]> = Extract<RoomEvent, { type: T }>;
/** Named for GraphQL Code Generator's mappers: the live feature's event types resolve from these. */
export type MessageAddedRecord = RoomEventOf<"MessageAdded">;
export type MessageUpdatedRecord = RoomEventOf<"MessageUpdated">;
export type RoomCreatedRecord = RoomEventOf<"RoomCreated">;
export type MemberLeftRecord = RoomEventOf<"MemberLeft">;
export type ReadPositionMovedRecord = RoomEventOf<"ReadPositionMoved">;
export type TypingRecord = RoomEventOf<"Typing">;
export type NotificationLevelRecord = RoomEventOf<"NotificationLevelChanged">;
export type MemberRoleChangedRecord = RoomEventOf<"MemberRoleChanged">;
export type RoomRenamedRecord = RoomEventOf<"RoomRenamed">;
export type MessageReportedRecord = RoomEventOf<"MessageReported">;

/** How long a `typing: true` holds without being repeated. */
export const TYPING_TTL_MS = 6000;

/**
 * Ephemeral, on the presence channel (keyed by process): which users hold a WebSocket on an
 * API process. `full` lists all of them (sent periodically, so a process that starts or
 * missed a change catches up, and one that stops sending is known to be gone); otherwise
 * `online`/`offline` are the changes since the last report.
 */
export const presenceReport = z.object({
  type: z.literal("PresenceReport"),
  processId: z.string().min(1).max(200),
  full: z.boolean(),
  online: z.array(z.uuid()),
  offline: z.array(z.uuid()),
});
export type PresenceReport = z.infer<typeof presenceReport>;

/** Event types that API processes publish themselves and nothing stores (not even the event log). */
export const EPHEMERAL_EVENT_TYPES: ReadonlySet<string> = new Set(["Typing", "PresenceReport"]);

/**
 * A user's row changed (login, logout, profile, deletion), on the users channel: API
 * processes drop what they cached of that user, such as the session behind a token.
 */
export const userEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("UserChanged"), userId: z.uuid() }),
  /** The moderation consumer muted the user: their sends are refused until `until`. */
  z.object({ type: z.literal("UserMuted"), userId: z.uuid(), until: z.iso.datetime(), reason: z.string() }),
]);
export type UserEvent = z.infer<typeof userEvent>;

/** Every event a command can emit. */
export type DomainEvent = RoomEvent | UserEvent;

/** The answer to one command, on `chat.events` in the outcomes channel. */
export const commandOutcome = z.discriminatedUnion("ok", [
  z.object({ commandId: z.uuid(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    commandId: z.uuid(),
    ok: z.literal(false),
    error: z.object({ code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]), message: z.string() }),
  }),
]);
export type CommandOutcome = z.infer<typeof commandOutcome>;

export const OUTCOMES_CHANNEL = "outcomes";
export const USERS_CHANNEL = "users";
export const PRESENCE_CHANNEL = "presence";
export const ROOM_CHANNEL_PREFIX = "room.";
export const roomChannel = (roomId: string) => `${ROOM_CHANNEL_PREFIX}${roomId}`;
/** Where an event is routed, and its Kafka key (room events stay in their room's order). */
export const channelOf = (event: DomainEvent) => ("roomId" in event ? roomChannel(event.roomId) : USERS_CHANNEL);
export const keyOf = (event: DomainEvent) => ("roomId" in event ? event.roomId : event.userId);

/**
 * Record headers on `chat.events`. `channel` routes the record (KafkaPubSub's convention);
 * `type` is the event type, so a consumer can pass over records without decoding them;
 * `outcome-of` marks an event that is also the successful outcome of that command (its
 * result is read from the event by the command's `resultOf`), so a message travels as one
 * record, not an outcome plus an event; `trace` holds epoch milliseconds of the command's
 * stages: `produced,taken up by a worker,committed` (the record's own timestamp is when the
 * event was produced); `position` is a stored room event's place in the feed's order,
 * `partition:offset:index` (its command's position, and its index among the command's
 * events), read by API processes without decoding the record.
 */
export const eventHeaders = {
  channel: "channel",
  type: "type",
  outcomeOf: "outcome-of",
  trace: "trace",
  position: "position",
} as const;

/** What answers a waiting command: its outcome record, or the event that carries its result. */
export type CommandAnswer = { outcome: CommandOutcome } | { event: RoomEvent };

/**
 * What features do to their own rows when an account or a message is deleted, called by the
 * command that deletes, in its transaction: the deleting feature need not know which others
 * keep rows about it (each feature declares its hooks in its index.ts).
 */
export interface DeletionHooks {
  /** After the account's row is gone (memberships went with it); `roomIds`: the rooms it was in. */
  accountDeleted(tx: Transaction, userId: string, roomIds: string[]): Promise<void>;
  /** Before the message becomes a tombstone. */
  messageDeleted(tx: Transaction, messageId: string): Promise<void>;
}

/** What a handler is given besides its transaction and command. */
export interface HandlerContext {
  hooks: DeletionHooks;
}

/** What a handler produced: the result returned to the caller and the events to publish. */
export interface Applied<R> {
  result: R;
  events?: DomainEvent[];
}

/**
 * One command type: how the worker applies it and how the API decodes its result.
 * `apply` runs inside a savepoint of the worker's batch transaction: throwing an
 * AppError rejects the command and undoes everything it wrote.
 */
export interface CommandDefinition<P, R> {
  type: string;
  payload: z.ZodType<P>;
  result: z.ZodType<R>;
  /** Kafka key: commands with the same key are applied in order (room id, user id). */
  key(payload: P, actorId: string | null): string;
  apply(tx: Transaction, command: CommandEnvelope<P>, context: HandlerContext): Promise<Applied<z.input<z.ZodType<R>>>>;
  /**
   * Optional fast path for a run of consecutive commands of this type in one batch: the same
   * effects as calling `apply` for each in order, with a few multi-row statements instead of
   * several per command. Domain rejections are returned per command, not thrown.
   */
  applyMany?(tx: Transaction, commands: CommandEnvelope<P>[]): Promise<Array<ManyResult<z.input<z.ZodType<R>>>>>;
  /**
   * For commands whose effects are their own record (a message row): finds the ones among
   * `commands` applied before, with what applying them produced. Their successes are then
   * not written to `command_log` (rejections still are), which saves a row per command.
   */
  findApplied?(tx: Transaction, commands: CommandEnvelope<P>[]): Promise<Map<string, Applied<z.input<z.ZodType<R>>>>>;
  /**
   * The result of a successful command read from the single event it emitted: the worker
   * then publishes only that event, marked as the command's outcome. The event was decoded
   * and validated already, so the API returns this as it is. Undefined: not from this event.
   */
  resultOf?(event: DomainEvent): R | undefined;
}

export type ManyResult<R> = { ok: true; applied: Applied<R> } | { ok: false; error: AppError };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandDefinition<any, any>;

export const defineCommand = <P, R>(definition: CommandDefinition<P, R>) => definition;
