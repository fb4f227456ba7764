import { sql } from "drizzle-orm";
import { z } from "zod";
import type { CommandBus } from "../../commands/ports.js";
import { anyOf } from "../../db/arrays.js";
import type { Database } from "../../db/client.js";
import { reactions, type MessageRow, type UserRow } from "../../db/schema.js";
import { parseInput } from "../../shared/validation.js";
import type { MessagesService } from "../messages/messages.service.js";
import { reactCommand, unreactCommand } from "./reactions.commands.js";
import { emoji } from "./reactions.rules.js";

const reactInput = z.object({ emoji });

export interface ReactionCount {
  emoji: string;
  count: number;
  reactedByMe: boolean;
}

export class ReactionsService {
  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
    private readonly messages: MessagesService,
  ) {}

  /** Adds (or, with `undo`, takes back) the viewer's reaction; returns the message. */
  async react(viewer: UserRow, input: { messageId: string; emoji: string }, undo = false): Promise<MessageRow> {
    const valid = parseInput(reactInput, input);
    const message = await this.messages.live(viewer, input.messageId);
    const command = undo ? unreactCommand : reactCommand;
    return this.commands.execute(
      command,
      { roomId: message.roomId, messageId: message.id, emoji: valid.emoji },
      viewer.id,
    );
  }

  /** Per message: each emoji's count and whether the viewer used it, in the order emoji were first used. */
  async counts(messageIds: readonly string[], viewerId: string | null): Promise<Map<string, ReactionCount[]>> {
    const rows = await this.db
      .select({
        messageId: reactions.messageId,
        emoji: reactions.emoji,
        count: sql<number>`count(*)::int`,
        reactedByMe: sql<boolean>`coalesce(bool_or(${reactions.userId} = ${viewerId}), false)`,
      })
      .from(reactions)
      .where(anyOf(reactions.messageId, [...messageIds]))
      .groupBy(reactions.messageId, reactions.emoji)
      .orderBy(sql`min(${reactions.reactedAt})`, reactions.emoji);
    const byMessage = new Map<string, ReactionCount[]>();
    for (const { messageId, ...count } of rows) byMessage.set(messageId, [...(byMessage.get(messageId) ?? []), count]);
    return byMessage;
  }
}
