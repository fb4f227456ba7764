import type { CommandBus } from "../../commands/ports.js";
import type { UserRow } from "../../db/schema.js";
import { parseInput } from "../../shared/validation.js";
import type { MessagesService } from "../messages/messages.service.js";
import { reportMessageCommand } from "./moderation.commands.js";
import { reportReason } from "./moderation.rules.js";

export class ModerationService {
  constructor(
    private readonly commands: CommandBus,
    private readonly messages: MessagesService,
  ) {}

  /** Reports a live message of a room the viewer belongs to; a second report of theirs changes nothing. */
  async report(viewer: UserRow, input: { messageId: string; reason: string }): Promise<boolean> {
    const reason = parseInput(reportReason, input.reason);
    const message = await this.messages.live(viewer, input.messageId);
    await this.commands.execute(
      reportMessageCommand,
      { roomId: message.roomId, messageId: message.id, reason },
      viewer.id,
    );
    return true;
  }
}
