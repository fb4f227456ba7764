import { desc, eq, getTableColumns } from "drizzle-orm";
import type { CommandBus } from "../../commands/ports.js";
import { anyOf } from "../../db/arrays.js";
import type { Database } from "../../db/client.js";
import { messages, pinnedMessages, type MessageRow, type UserRow } from "../../db/schema.js";
import type { MessagesService } from "../messages/messages.service.js";
import { memberOf } from "../rooms/membership.js";
import { pinMessageCommand, unpinMessageCommand } from "./pins.commands.js";
import { checkCanPin } from "./pins.rules.js";

export class PinsService {
  constructor(
    private readonly db: Database,
    private readonly commands: CommandBus,
    private readonly messages: MessagesService,
  ) {}

  /** Pins (or, with `undo`, unpins) a live message of a room the viewer moderates; returns the message. */
  async pin(viewer: UserRow, messageId: string, undo = false): Promise<MessageRow> {
    const message = await this.messages.live(viewer, messageId);
    const { room, role } = await memberOf(this.db, message.roomId, viewer.id);
    checkCanPin(room, role);
    const command = undo ? unpinMessageCommand : pinMessageCommand;
    return this.commands.execute(command, { roomId: message.roomId, messageId: message.id }, viewer.id);
  }

  /** Per room: its pinned messages, newest pin first. */
  async pinnedIn(roomIds: readonly string[]): Promise<Map<string, MessageRow[]>> {
    const rows = await this.db
      .select(getTableColumns(messages))
      .from(pinnedMessages)
      .innerJoin(messages, eq(messages.id, pinnedMessages.messageId))
      .where(anyOf(pinnedMessages.roomId, [...roomIds]))
      .orderBy(desc(pinnedMessages.pinnedAt), desc(pinnedMessages.messageId));
    const byRoom = new Map<string, MessageRow[]>();
    for (const message of rows) byRoom.set(message.roomId, [...(byRoom.get(message.roomId) ?? []), message]);
    return byRoom;
  }
}
