import { and, eq, lt, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { Transaction } from "../../db/client.js";
import { revokedSessions, roomMembers, users } from "../../db/schema.js";
import { defineCommand, type UserEvent } from "../../commands/protocol.js";
import { badInput, unauthenticated } from "../../shared/errors.js";
import { displayName, email, statusMessage, username } from "./users.rules.js";

/** Tells every API process to forget what it cached of the user (their session above all). */
const userChanged = (userId: string): UserEvent => ({ type: "UserChanged", userId });

export const signUpCommand = defineCommand({
  type: "SignUp",
  payload: z.object({
    userId: z.uuid(),
    username,
    displayName,
    email: email.nullable(),
    passwordHash: z.string().startsWith("scrypt$"),
  }),
  result: z.object({ userId: z.uuid() }),
  // Same username -> same partition, so two sign-ups racing for a name are applied in order.
  key: (p) => `username:${p.username}`,
  async apply(tx, { payload }) {
    // A redelivered sign-up is answered from the command log; this check covers a second
    // command for the same user id, which cannot happen but would otherwise fail obscurely.
    const clashes = await tx
      .select({ id: users.id, username: users.username })
      .from(users)
      .where(or(eq(users.id, payload.userId), eq(users.username, payload.username)));
    if (clashes.some((u) => u.id === payload.userId)) return { result: { userId: payload.userId } }; // redelivered
    if (clashes.length > 0) throw badInput(`username ${payload.username} is taken`, "username");
    await tx.insert(users).values({
      id: payload.userId,
      username: payload.username,
      displayName: payload.displayName,
      email: payload.email,
      passwordHash: payload.passwordHash,
    });
    return { result: { userId: payload.userId } };
  },
});

export const logInCommand = defineCommand({
  type: "LogIn",
  payload: z.object({ userId: z.uuid() }),
  result: z.object({ epoch: z.number().int() }),
  key: (p) => p.userId,
  async apply(tx, { payload, issuedAt }) {
    const [user] = await tx
      .update(users)
      .set({ lastLoginAt: new Date(issuedAt) })
      .where(eq(users.id, payload.userId))
      .returning({ epoch: users.sessionEpoch });
    if (!user) throw unauthenticated("this account no longer exists");
    return { result: { epoch: user.epoch }, events: [userChanged(payload.userId)] };
  },
});

/** Ends one session (the token's), or every session of a token that names none (issued before sessions had ids). */
export const logOutCommand = defineCommand({
  type: "LogOut",
  payload: z.object({
    userId: z.uuid(),
    session: z.object({ id: z.uuid(), expiresAt: z.iso.datetime() }).nullish(),
  }),
  result: z.object({ loggedOut: z.literal(true) }),
  key: (p) => p.userId,
  async apply(tx, command) {
    const { payload } = command;
    if (!payload.session) return endEverySession(tx, payload.userId, command.issuedAt);
    const [user] = await tx
      .update(users)
      .set({ lastLogoutAt: new Date(command.issuedAt) })
      .where(eq(users.id, payload.userId))
      .returning({ id: users.id });
    if (!user) throw unauthenticated("this account no longer exists");
    await tx
      .insert(revokedSessions)
      .values({ sessionId: payload.session.id, userId: user.id, expiresAt: new Date(payload.session.expiresAt) })
      .onConflictDoNothing();
    // Housekeeping: revocations of tokens that have expired by now mean nothing.
    await tx
      .delete(revokedSessions)
      .where(and(eq(revokedSessions.userId, user.id), lt(revokedSessions.expiresAt, new Date(command.issuedAt))));
    return { result: { loggedOut: true }, events: [userChanged(payload.userId)] };
  },
});

export const logOutEverywhereCommand = defineCommand({
  type: "LogOutEverywhere",
  payload: z.object({ userId: z.uuid() }),
  result: z.object({ loggedOut: z.literal(true) }),
  key: (p) => p.userId,
  apply: (tx, { payload, issuedAt }) => endEverySession(tx, payload.userId, issuedAt),
});

async function endEverySession(tx: Transaction, userId: string, issuedAt: string) {
  // Tokens carry the epoch they were issued in; bumping it retires every one of them.
  const [user] = await tx
    .update(users)
    .set({ lastLogoutAt: new Date(issuedAt), sessionEpoch: sql`${users.sessionEpoch} + 1` })
    .where(eq(users.id, userId))
    .returning({ id: users.id });
  if (!user) throw unauthenticated("this account no longer exists");
  return { result: { loggedOut: true as const }, events: [userChanged(userId)] };
}

export const updateStatusMessageCommand = defineCommand({
  type: "UpdateStatusMessage",
  payload: z.object({ userId: z.uuid(), statusMessage }),
  result: z.object({ userId: z.uuid() }),
  key: (p) => p.userId,
  async apply(tx, { payload }) {
    const [user] = await tx
      .update(users)
      .set({ statusMessage: payload.statusMessage })
      .where(eq(users.id, payload.userId))
      .returning({ id: users.id });
    if (!user) throw unauthenticated("this account no longer exists");
    return { result: { userId: user.id }, events: [userChanged(user.id)] };
  },
});

export const deleteAccountCommand = defineCommand({
  type: "DeleteAccount",
  payload: z.object({ userId: z.uuid() }),
  result: z.object({ deleted: z.literal(true) }),
  key: (p) => p.userId,
  async apply(tx, { payload }, { hooks }) {
    const memberships = await tx
      .select({ roomId: roomMembers.roomId })
      .from(roomMembers)
      .where(eq(roomMembers.userId, payload.userId));
    // Foreign keys do the rest: friendships (both directions), memberships and saved messages
    // are deleted; messages keep their history with sender_id set to null.
    const deleted = await tx.delete(users).where(eq(users.id, payload.userId)).returning({ id: users.id });
    if (deleted.length === 0) throw unauthenticated("this account no longer exists");
    const roomIds = memberships.map((m) => m.roomId);
    await hooks.accountDeleted(tx, payload.userId, roomIds);
    return {
      result: { deleted: true },
      events: [
        ...roomIds.map((roomId) => ({ type: "MemberLeft" as const, roomId, userId: payload.userId })),
        userChanged(payload.userId),
      ],
    };
  },
});

export const userCommands = [
  signUpCommand,
  logInCommand,
  logOutCommand,
  logOutEverywhereCommand,
  updateStatusMessageCommand,
  deleteAccountCommand,
];
