import { getTableColumns, sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * Millisecond precision, like JavaScript dates, so a timestamp a client got back compares
 * equal in a cursor. clock_timestamp(), not now(): a worker applies a whole batch in one
 * transaction, and rows written in it should not all share the transaction's start time.
 */
const createdAt = (name: string) =>
  timestamp(name, { withTimezone: true, mode: "date", precision: 3 })
    .notNull()
    .default(sql`clock_timestamp()`);
const optionalTime = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey(),
    /** Stored lower-case, so uniqueness is case-insensitive. */
    username: text("username").notNull(),
    displayName: text("display_name").notNull(),
    email: text("email"),
    passwordHash: text("password_hash").notNull(),
    statusMessage: text("status_message"),
    joinedAt: createdAt("joined_at"),
    lastLoginAt: optionalTime("last_login_at"),
    lastLogoutAt: optionalTime("last_logout_at"),
    /** When the user's last WebSocket on an API process closed (presence: lastSeenAt). */
    lastSeenAt: optionalTime("last_seen_at"),
    /** Bumped on logout; tokens carry the epoch they were issued in. */
    sessionEpoch: integer("session_epoch").notNull().default(0),
  },
  // Emails are contact details, not identities: unique, they would tell a stranger signing up
  // which addresses have accounts.
  (t) => [uniqueIndex("users_username_key").on(t.username)],
);

export const friendships = pgTable(
  "friendships",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    friendId: uuid("friend_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt("created_at"),
  },
  (t) => [primaryKey({ columns: [t.userId, t.friendId] }), index("friendships_friend_idx").on(t.friendId)],
);

export const rooms = pgTable(
  "rooms",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    creatorId: uuid("creator_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt("created_at"),
    /** Seq of the newest message; the next message gets lastSeq + 1 in the same transaction. */
    lastSeq: integer("last_seq").notNull().default(0),
    lastActivityAt: createdAt("last_activity_at"),
    /** A 1:1 room (directRoom): its id is derived from the two user ids, so both sides find the same one. */
    isDirect: boolean("is_direct").notNull().default(false),
  },
  (t) => [index("rooms_creator_idx").on(t.creatorId)],
);

export const roomMembers = pgTable(
  "room_members",
  {
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    joinedAt: createdAt("joined_at"),
    lastReadSeq: integer("last_read_seq").notNull().default(0),
    /** What of the room's activity notifies this member (features/notifications): ALL, MENTIONS or NONE. */
    notificationLevel: text("notification_level").notNull().default("ALL"),
    /** OWNER (one per group room), ADMIN or MEMBER; direct rooms have no roles (all MEMBER). */
    role: text("role").notNull().default("MEMBER"),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] }), index("room_members_user_idx").on(t.userId)],
);

export const messages = pgTable(
  "messages",
  {
    /**
     * The id of the SendMessage command that stored it, or the one its (sender, room,
     * clientMessageId) names: a redelivered command and a client's retry find it here.
     */
    id: uuid("id").primaryKey(),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    /** Null once the sender deleted their account; history stays. */
    senderId: uuid("sender_id").references(() => users.id, { onDelete: "set null" }),
    /** Empty once the message was deleted (deletedAt set): the text is gone, the seq stays. */
    body: text("body").notNull(),
    clientMessageId: text("client_message_id"),
    createdAt: createdAt("created_at"),
    editedAt: optionalTime("edited_at"),
    deletedAt: optionalTime("deleted_at"),
    /**
     * Who made it a tombstone: its sender, or a moderator of the room (its owner or an admin).
     * No foreign key: a deleted account's id stays (shown as a deleted user), and the check
     * would scan every message when an account goes.
     */
    deletedBy: uuid("deleted_by"),
    /** When enough members reported it (features/moderation): hidden for everyone pending review, its text kept. */
    hiddenAt: optionalTime("hidden_at"),
    /** The top-level message of the same room whose thread this reply is in; null for a top-level message. */
    parentId: uuid("parent_id").references((): AnyPgColumn => messages.id, { onDelete: "cascade" }),
    /**
     * A message of the same room this one quotes (a tombstone once that one is deleted). No
     * foreign key: messages go only with their room, and the check would cost a scan per
     * message then.
     */
    quotedMessageId: uuid("quoted_message_id"),
    /**
     * The room members its body mentions as @username, found by the worker when it stores or
     * edits the message (never taken from a client); empty once deleted.
     */
    mentionIds: uuid("mention_ids")
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
    /**
     * The offset of its SendMessage command in the room's partition of chat.commands: where
     * its MessageAdded stands in the feed's order (src/features/live/positions.ts). Null for
     * messages stored before positions were kept.
     */
    position: bigint("position", { mode: "number" }),
  },
  (t) => [
    uniqueIndex("messages_room_seq_key").on(t.roomId, t.seq),
    // Full-text search (searchMessages). 'simple': no stemming or stop words, so any language
    // and names match as typed. A deleted message's body is empty, so it has no entries here.
    index("messages_search_idx").using("gin", sql`to_tsvector('simple', ${t.body})`),
    // Serves two paths: deleting an account (its messages' sender_id is nulled) and finding a
    // member's newest own message, which their read position never falls behind.
    index("messages_sender_room_seq_idx").on(t.senderId, t.roomId, t.seq),
    // A thread's replies in order (replies, reply counts, thread read positions).
    index("messages_thread_idx")
      .on(t.parentId, t.seq)
      .where(sql`${t.parentId} is not null`),
    // A user's mentions (mentions, mentionCount): only messages that mention someone.
    index("messages_mentions_idx")
      .using("gin", t.mentionIds)
      .where(sql`cardinality(${t.mentionIds}) > 0`),
  ],
);

export const savedMessages = pgTable(
  "saved_messages",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    savedAt: createdAt("saved_at"),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.messageId] }),
    index("saved_messages_user_idx").on(t.userId, t.savedAt.desc(), t.messageId.desc()),
    index("saved_messages_message_idx").on(t.messageId),
  ],
);

/** One user's reaction to a message: an emoji, once per user. */
export const reactions = pgTable(
  "reactions",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    emoji: text("emoji").notNull(),
    reactedAt: createdAt("reacted_at"),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.emoji, t.userId] }), index("reactions_user_idx").on(t.userId)],
);

/** Who blocked whom (features/blocks): the blocked user cannot befriend, add or message the blocker directly. */
export const blocks = pgTable(
  "blocks",
  {
    blockerId: uuid("blocker_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    blockedId: uuid("blocked_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    blockedAt: createdAt("blocked_at"),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index("blocks_blocked_idx").on(t.blockedId)],
);

/** Reports of messages (features/moderation): one per reporter and message. */
export const reports = pgTable(
  "reports",
  {
    messageId: uuid("message_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    reporterId: uuid("reporter_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    reason: text("reason").notNull(),
    reportedAt: createdAt("reported_at"),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.reporterId] }), index("reports_reporter_idx").on(t.reporterId)],
);

/** Users muted by the moderation consumer (features/moderation): their sends are refused until then. */
export const mutes = pgTable("mutes", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  until: timestamp("until", { withTimezone: true, mode: "date", precision: 3 }).notNull(),
  reason: text("reason").notNull(),
});

/** Pinned messages (features/pins): at most 50 per room, each pinned once; a message's deletion unpins it. */
export const pinnedMessages = pgTable(
  "pinned_messages",
  {
    messageId: uuid("message_id")
      .primaryKey()
      .references(() => messages.id, { onDelete: "cascade" }),
    roomId: uuid("room_id")
      .notNull()
      .references(() => rooms.id, { onDelete: "cascade" }),
    pinnedBy: uuid("pinned_by").references(() => users.id, { onDelete: "set null" }),
    pinnedAt: createdAt("pinned_at"),
  },
  (t) => [index("pinned_messages_room_idx").on(t.roomId, t.pinnedAt)],
);

/**
 * A member's read position in a thread (features/threads), once they marked it read. Sending
 * a reply moves one's position to it without a row here (as in a room).
 */
export const threadReads = pgTable(
  "thread_reads",
  {
    parentId: uuid("parent_id")
      .notNull()
      .references(() => messages.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    lastReadSeq: integer("last_read_seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.parentId, t.userId] }), index("thread_reads_user_idx").on(t.userId)],
);

/**
 * Who left which room when (left, or was removed): a resumed feed replays a room its user
 * has left since its cursor up to their departure. Pruned with command_log.
 */
export const roomDepartures = pgTable(
  "room_departures",
  {
    userId: uuid("user_id").notNull(),
    roomId: uuid("room_id").notNull(),
    departedAt: createdAt("departed_at"),
  },
  (t) => [index("room_departures_user_idx").on(t.userId, t.departedAt)],
);

/**
 * Every command the workers have decided, with its outcome and events, written in the same
 * transaction as its effects. A redelivered command is answered from here, unchanged.
 */
export const commandLog = pgTable(
  "command_log",
  {
    commandId: uuid("command_id").primaryKey(),
    type: text("type").notNull(),
    outcome: jsonb("outcome").notNull(),
    events: jsonb("events").notNull(),
    appliedAt: createdAt("applied_at"),
    /** Where the command stood in chat.commands: its events' place in the feed's order. */
    partition: integer("partition"),
    logOffset: bigint("log_offset", { mode: "number" }),
    /** The one room its events are about; null when they are about none or several (roomEvents says which). */
    roomId: uuid("room_id"),
    /** Whether any of its events is a room's (the feed replays those). */
    roomEvents: boolean("room_events").notNull().default(false),
  },
  (t) => [
    index("command_log_applied_idx").on(t.appliedAt),
    // A resumed feed's replay: a room's changes after a position, and those of commands
    // about several rooms (an account deleted) after a position in a partition.
    index("command_log_room_idx")
      .on(t.roomId, t.logOffset)
      .where(sql`${t.roomId} is not null`),
    index("command_log_rooms_idx")
      .on(t.partition, t.logOffset)
      .where(sql`${t.roomId} is null and ${t.roomEvents}`),
  ],
);

/**
 * Every event on chat.events, appended by the event-log consumer (its own consumer group,
 * so it can lag or stop without slowing the chat path). The record's position is its key.
 */
export const eventLog = pgTable(
  "event_log",
  {
    topic: text("topic").notNull(),
    partition: integer("partition").notNull(),
    offset: bigint("offset", { mode: "bigint" }).notNull(),
    channel: text("channel"),
    payload: jsonb("payload").notNull(),
    producedAt: timestamp("produced_at", { withTimezone: true, mode: "date", precision: 3 }).notNull(),
    loggedAt: createdAt("logged_at"),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition, t.offset] })],
);

export type UserRow = typeof users.$inferSelect;
export type RoomRow = typeof rooms.$inferSelect;
/** A message as the API and events carry it (its feed position is the replay's concern alone). */
export type MessageRow = Omit<typeof messages.$inferSelect, "position">;
/** Its columns, for the selects whose rows travel in events and results. */
export const { position: _position, ...messageColumns } = getTableColumns(messages);
export type SavedMessageRow = typeof savedMessages.$inferSelect;

/**
 * Sign-in and sign-up attempts counted across API processes (rate-limiter-flexible's Drizzle
 * store): a brute force spread over processes meets the same limit.
 */
export const rateLimits = pgTable("rate_limits", {
  key: text("key").primaryKey(),
  points: integer("points").notNull(),
  expire: timestamp("expire", { withTimezone: true }),
});

/**
 * Sessions ended by `logOut` on one device before their tokens expire (each token names its
 * session). Rows past `expires_at` mean nothing (their tokens no longer verify) and are pruned.
 */
export const revokedSessions = pgTable(
  "revoked_sessions",
  {
    sessionId: uuid("session_id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [index("revoked_sessions_user_idx").on(t.userId)],
);
