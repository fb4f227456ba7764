import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import { friendships, users } from "../../db/schema.js";
import { defineCommand } from "../../commands/protocol.js";
import { badInput, notFound } from "../../shared/errors.js";
import { checkNotBlockedBy } from "../blocks/blocks.rules.js";

export const MAX_FRIENDS_PER_CALL = 100;

export const addFriendsCommand = defineCommand({
  type: "AddFriends",
  payload: z.object({ friendIds: z.array(z.uuid()).min(1).max(MAX_FRIENDS_PER_CALL) }),
  result: z.object({ friendIds: z.array(z.uuid()) }),
  key: (_p, actorId) => actorId!,
  async apply(tx, { payload, actorId }) {
    if (payload.friendIds.includes(actorId!)) throw badInput("you cannot add yourself as a friend", "userIds");
    const found = await tx.select({ id: users.id }).from(users).where(anyOf(users.id, payload.friendIds));
    const missing = payload.friendIds.filter((id) => !found.some((u) => u.id === id));
    if (missing.length > 0) throw notFound(`no user with id ${missing.join(", ")}`);
    await checkNotBlockedBy(tx, payload.friendIds, actorId!, "you cannot add this user as a friend");
    // All or nothing, and adding an existing friend again changes nothing.
    await tx
      .insert(friendships)
      .values(payload.friendIds.map((friendId) => ({ userId: actorId!, friendId })))
      .onConflictDoNothing();
    return { result: { friendIds: payload.friendIds } };
  },
});

export const removeFriendCommand = defineCommand({
  type: "RemoveFriend",
  payload: z.object({ friendId: z.uuid() }),
  result: z.object({ removed: z.boolean() }),
  key: (_p, actorId) => actorId!,
  async apply(tx, { payload, actorId }) {
    const removed = await tx
      .delete(friendships)
      .where(and(eq(friendships.userId, actorId!), eq(friendships.friendId, payload.friendId)))
      .returning({ friendId: friendships.friendId });
    return { result: { removed: removed.length > 0 } };
  },
});

export const friendCommands = [addFriendsCommand, removeFriendCommand];
