import { badInput, forbidden } from "../../shared/errors.js";
import { moderates } from "../rooms/rooms.rules.js";

/** Pins a room keeps: a short list people read, not a second timeline. */
export const MAX_PINS_PER_ROOM = 50;

/** A room with `pins` pinned messages takes one more only below the limit. */
export function checkPinLimit(pins: number) {
  if (pins >= MAX_PINS_PER_ROOM)
    throw badInput(`a room has at most ${MAX_PINS_PER_ROOM} pinned messages; unpin one first`, "messageId");
}

/** In a group room its owner and admins pin; in a direct room, which has no roles, either member. */
export function checkCanPin(room: { isDirect: boolean }, role: string) {
  if (!room.isDirect && !moderates(room, role)) throw forbidden("only the room's owner and admins pin messages");
}
