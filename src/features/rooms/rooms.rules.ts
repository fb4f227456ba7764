import { z } from "zod";
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

export const roomRole = z.enum(["OWNER", "ADMIN", "MEMBER"]);
export type RoomRole = z.infer<typeof roomRole>;

/** The owner and admins moderate a group room: rename it, remove members, pin, delete others' messages. */
export const moderates = (room: { isDirect: boolean }, role: string) =>
  !room.isDirect && (role === "OWNER" || role === "ADMIN");

/** Who removes whom: the owner anyone, an admin members; nobody from a direct room, nor themselves. */
export function checkRemoveMember(
  room: RoomFacts,
  actor: { id: string; role: string },
  target: { id: string; role: string | null },
) {
  if (room.isDirect) throw forbidden("nobody is removed from a direct room; leave it instead");
  if (target.id === actor.id) throw badInput("you cannot remove yourself; use leaveRoom", "userId");
  if (!moderates(room, actor.role)) throw forbidden("only the room's owner and admins remove members");
  if (target.role === "OWNER") throw forbidden("the room's owner cannot be removed");
  if (target.role === "ADMIN" && actor.role !== "OWNER") throw forbidden("only the room's owner removes admins");
}

/** Only the owner names admins or hands ownership over, in a group room, to another member. */
export function checkSetRole(room: RoomFacts, actor: { id: string; role: string }, userId: string) {
  if (room.isDirect) throw forbidden("a direct room has no roles");
  if (actor.role !== "OWNER") throw forbidden("only the room's owner changes roles");
  if (userId === actor.id) throw badInput("you cannot change your own role; make someone else the owner", "userId");
}

/** The owner and admins rename a group room. */
export function checkRename(room: RoomFacts, role: string) {
  if (room.isDirect) throw forbidden("a direct room is named after its members; it cannot be renamed");
  if (!moderates(room, role)) throw forbidden("only the room's owner and admins rename it");
}

/** A read position can only be at a message the room has. */
export function checkReadPosition(room: { lastSeq: number }, seq: number) {
  if (seq > room.lastSeq) throw badInput(`seq ${seq} is beyond the room's last message (seq ${room.lastSeq})`, "seq");
}
