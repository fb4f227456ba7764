import { z } from "zod";
import { anyOf } from "../../db/arrays.js";
import type { Database } from "../../db/client.js";
import { friendships, type UserRow } from "../../db/schema.js";
import type { CommandBus } from "../../commands/ports.js";
import { groupBy } from "../../shared/collections.js";
import { parseInput, requireId } from "../../shared/validation.js";
import { addFriendsCommand, MAX_FRIENDS_PER_CALL, removeFriendCommand } from "./friends.commands.js";

const addInput = z.object({
  userIds: z
    .array(z.uuid("must be user ids"))
    .min(1, "must name at least one user")
    .max(MAX_FRIENDS_PER_CALL, `may name at most ${MAX_FRIENDS_PER_CALL} users`),
});

export class FriendsService {
  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
  ) {}

  /** Returns the ids added, in the order given, without repeats. */
  async add(viewer: UserRow, userIds: readonly string[]): Promise<string[]> {
    const valid = parseInput(addInput, { userIds });
    const friendIds = [...new Set(valid.userIds)];
    await this.commands.execute(addFriendsCommand, { friendIds }, viewer.id);
    return friendIds;
  }

  async remove(viewer: UserRow, userId: string): Promise<boolean> {
    const friendId = requireId(userId, "user");
    const { removed } = await this.commands.execute(removeFriendCommand, { friendId }, viewer.id);
    return removed;
  }

  /** Friend ids per user, oldest friendship first. */
  async friendIds(userIds: readonly string[]): Promise<Map<string, string[]>> {
    const rows = await this.db
      .select({ userId: friendships.userId, friendId: friendships.friendId })
      .from(friendships)
      .where(anyOf(friendships.userId, [...userIds]))
      .orderBy(friendships.createdAt, friendships.friendId);
    return groupBy(
      rows,
      (r) => r.userId,
      (r) => r.friendId,
    );
  }
}
