import { and, desc, eq, getTableColumns } from "drizzle-orm";
import { anyOf } from "../../db/arrays.js";
import type { CommandBus, EventBus } from "../../commands/ports.js";
import type { Database } from "../../db/client.js";
import { blocks, users, type UserRow } from "../../db/schema.js";
import { requireId } from "../../shared/validation.js";
import { blockUserCommand, unblockUserCommand } from "./blocks.commands.js";
import { checkBlockable } from "./blocks.rules.js";

/** A viewer's blocked users, kept current while held (see BlocksService.watch). */
export interface BlockedSet {
  has(userId: string | null): boolean;
  release(): void;
}

interface Watched {
  viewerId: string;
  blocked: Set<string>;
  holders: number;
}

/** One stream's hold on its viewer's Watched entry (a class: each open stream keeps one). */
class Hold implements BlockedSet {
  private released = false;

  constructor(
    private readonly held: Watched,
    private readonly watched: Map<string, Watched>,
  ) {}

  has(userId: string | null) {
    return userId !== null && this.held.blocked.has(userId);
  }

  release() {
    if (this.released) return;
    this.released = true;
    const { held, watched } = this;
    if (--held.holders === 0 && watched.get(held.viewerId) === held) watched.delete(held.viewerId);
  }
}

export class BlocksService {
  /** Blocked sets held by this process's open streams, by viewer; reloaded when the viewer's row changes. */
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
    events: EventBus,
  ) {
    events.onUserChanged((userId) => {
      if (this.watched.has(userId)) void this.reload(userId).catch(() => {});
    });
  }

  async block(viewer: UserRow, userId: string): Promise<boolean> {
    checkBlockable(viewer.id, requireId(userId, "user"));
    await this.commands.execute(blockUserCommand, { userId }, viewer.id);
    return true;
  }

  async unblock(viewer: UserRow, userId: string): Promise<boolean> {
    const { unblocked } = await this.commands.execute(
      unblockUserCommand,
      { userId: requireId(userId, "user") },
      viewer.id,
    );
    return unblocked;
  }

  async blockedUsers(viewer: UserRow): Promise<UserRow[]> {
    const rows = await this.db
      .select(getTableColumns(users))
      .from(blocks)
      .innerJoin(users, eq(users.id, blocks.blockedId))
      .where(eq(blocks.blockerId, viewer.id))
      .orderBy(desc(blocks.blockedAt));
    return rows;
  }

  /** For each sender, whether the viewer blocked them. */
  async blockedAmong(viewerId: string, senderIds: readonly (string | null)[]): Promise<boolean[]> {
    const ids = senderIds.filter((id): id is string => id !== null);
    const rows =
      ids.length === 0
        ? []
        : await this.db
            .select({ id: blocks.blockedId })
            .from(blocks)
            .where(and(eq(blocks.blockerId, viewerId), anyOf(blocks.blockedId, ids)));
    const blocked = new Set(rows.map((r) => r.id));
    return senderIds.map((id) => id !== null && blocked.has(id));
  }

  /** The viewer's blocked users for a stream's whole life: one read, then kept current by events. */
  async watch(viewerId: string): Promise<BlockedSet> {
    let entry = this.watched.get(viewerId);
    if (!entry) {
      entry = { viewerId, blocked: await this.load(viewerId), holders: 0 };
      this.watched.set(viewerId, entry);
    }
    entry.holders++;
    return new Hold(entry, this.watched);
  }

  private async reload(viewerId: string) {
    const blocked = await this.load(viewerId);
    const entry = this.watched.get(viewerId);
    if (entry) entry.blocked = blocked;
  }

  private async load(viewerId: string): Promise<Set<string>> {
    const rows = await this.db.select({ id: blocks.blockedId }).from(blocks).where(eq(blocks.blockerId, viewerId));
    return new Set(rows.map((r) => r.id));
  }
}
