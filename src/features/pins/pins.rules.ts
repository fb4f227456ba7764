import { badInput } from "../../shared/errors.js";

/** Pins a room keeps: a short list people read, not a second timeline. */
export const MAX_PINS_PER_ROOM = 50;

/** A room with `pins` pinned messages takes one more only below the limit. */
export function checkPinLimit(pins: number) {
  if (pins >= MAX_PINS_PER_ROOM)
    throw badInput(`a room has at most ${MAX_PINS_PER_ROOM} pinned messages; unpin one first`, "messageId");
}
