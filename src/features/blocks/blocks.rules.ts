import { and, asc, eq } from "drizzle-orm";
import { anyOf } from "../../db/arrays.js";
import type { Transaction } from "../../db/client.js";
import { blocks, users } from "../../db/schema.js";
import { badInput, forbidden } from "../../shared/errors.js";

/**
 * Refuses (FORBIDDEN, `refusal`) when any of `userIds` has blocked `actorId`: the check every
 * command that reaches another user makes (befriending, adding to a room, a direct chat).
 * Their rows are share-locked first: a block being applied at the same time, which locks
 * them for update, is then ordered wholly before or after this command, whichever worker
 * applies which (they are keyed differently, so they can run side by side).
 */
export async function checkNotBlockedBy(tx: Transaction, userIds: string[], actorId: string, refusal: string) {
  if (userIds.length === 0) return;
  await tx.select({ id: users.id }).from(users).where(anyOf(users.id, userIds)).orderBy(asc(users.id)).for("key share");
  const [blocker] = await tx
    .select({ id: blocks.blockerId })
    .from(blocks)
    .where(and(anyOf(blocks.blockerId, userIds), eq(blocks.blockedId, actorId)))
    .limit(1);
  // Says no more than the refusal: not who, nor that it is a block.
  if (blocker) throw forbidden(refusal);
}

/** One cannot block oneself. */
export function checkBlockable(actorId: string, userId: string) {
  if (actorId === userId) throw badInput("you cannot block yourself", "userId");
}
