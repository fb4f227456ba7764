import type { CommandBus } from "../../commands/ports.js";
import type { RoomRow, UserRow } from "../../db/schema.js";
import { notFound } from "../../shared/errors.js";
import { parseInput, requireId } from "../../shared/validation.js";
import type { RoomsService } from "../rooms/rooms.service.js";
import { setRoomNotificationsCommand } from "./notifications.commands.js";
import { notificationLevel } from "./notifications.rules.js";

export class NotificationsService {
  constructor(
    private readonly commands: CommandBus,
    private readonly rooms: RoomsService,
  ) {}

  /** Sets the viewer's level in a room they belong to (the worker checks membership); returns the room. */
  async setLevel(viewer: UserRow, roomId: string, level: string): Promise<RoomRow> {
    const valid = parseInput(notificationLevel, level);
    requireId(roomId, "room");
    await this.commands.execute(setRoomNotificationsCommand, { roomId, level: valid }, viewer.id);
    const [room] = await this.rooms.byIds([roomId]);
    if (!room) throw notFound(`no room with id ${roomId}`);
    return room;
  }
}
