import { and, asc, eq, or } from "drizzle-orm";
import { z } from "zod";
import { defineCommand } from "../../commands/protocol.js";
import { anyOf } from "../../db/arrays.js";
import { blocks, friendships, users } from "../../db/schema.js";
import { notFound } from "../../shared/errors.js";
import { checkBlockable } from "./blocks.rules.js";

/**
 * Blocks a user: both users' rows are locked for update, so a friend request, a room or a
 * direct chat of the blocked user being applied meanwhile (checkNotBlockedBy) is ordered
 * wholly before or after the block. Friendships between them end. API processes drop what
 * they cached of both (friend lists, blocked sets) on the UserChanged events.
 */
export const blockUserCommand = defineCommand({
  type: "BlockUser",
  payload: z.object({ userId: z.uuid() }),
  result: z.object({ blocked: z.literal(true) }),
  key: (_p, actorId) => actorId!,
  async apply(tx, { payload, actorId }) {
    checkBlockable(actorId!, payload.userId);
    const pair = [actorId!, payload.userId];
    const locked = await tx
      .select({ id: users.id })
      .from(users)
      .where(anyOf(users.id, pair))
      .orderBy(asc(users.id))
      .for("update");
    if (!locked.some((u) => u.id === payload.userId)) throw notFound(`no user with id ${payload.userId}`);
    await tx.insert(blocks).values({ blockerId: actorId!, blockedId: payload.userId }).onConflictDoNothing();
    await tx
      .delete(friendships)
      .where(
        or(
          and(eq(friendships.userId, actorId!), eq(friendships.friendId, payload.userId)),
          and(eq(friendships.userId, payload.userId), eq(friendships.friendId, actorId!)),
        ),
      );
    const changed = pair.map((userId) => ({ type: "UserChanged" as const, userId }));
    return { result: { blocked: true as const }, events: changed };
  },
});

export const unblockUserCommand = defineCommand({
  type: "UnblockUser",
  payload: z.object({ userId: z.uuid() }),
  result: z.object({ unblocked: z.boolean() }),
  key: (_p, actorId) => actorId!,
  async apply(tx, { payload, actorId }) {
    const removed = await tx
      .delete(blocks)
      .where(and(eq(blocks.blockerId, actorId!), eq(blocks.blockedId, payload.userId)))
      .returning({ id: blocks.blockedId });
    const events = removed.length > 0 ? [{ type: "UserChanged" as const, userId: actorId! }] : [];
    return { result: { unblocked: removed.length > 0 }, events };
  },
});

export const blockCommands = [blockUserCommand, unblockUserCommand];
