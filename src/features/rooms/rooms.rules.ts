import { badInput, forbidden, notFound, type AppError } from "../../shared/errors.js";
import { typedText } from "../../shared/text.js";

/** A room's name, for the API's arguments and the workers' payloads alike. */
export const roomName = typedText({ min: 1, max: 100 });
export const MAX_ROOM_MEMBERS = 100;

/**
 * The permission rules of a room, each written once: the API calls them for a fast refusal,
 * the worker's handler again in its transaction (the authority: state may have changed).
 */
type RoomFacts = { creatorId: string | null; isDirect: boolean };

/** Only members act in a room: NOT_FOUND without the room, FORBIDDEN without the membership. */
export function membershipError(roomId: string, roomFound: boolean, member: boolean): AppError | null {
  if (!roomFound) return notFound(`no room with id ${roomId}`);
  if (!member) return forbidden(`you are not a member of room ${roomId}`);
  return null;
}

/** Only a room's creator removes members, nobody from a direct room, and not themselves. */
export function checkRemoveMember(room: RoomFacts, actorId: string, userId: string) {
  if (room.creatorId !== actorId) throw forbidden("only the room's creator can remove members");
  if (room.isDirect) throw forbidden("nobody is removed from a direct room; leave it instead");
  if (userId === actorId) throw badInput("you cannot remove yourself; use leaveRoom", "userId");
}

/** A read position can only be at a message the room has. */
export function checkReadPosition(room: { lastSeq: number }, seq: number) {
  if (seq > room.lastSeq) throw badInput(`seq ${seq} is beyond the room's last message (seq ${room.lastSeq})`, "seq");
}
