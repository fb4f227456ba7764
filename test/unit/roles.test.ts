/** Room roles as the worker applies them, over PGlite: who may do what, and ownership passing on. */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { messages, roomMembers, type MessageRow } from "../../src/db/schema.js";
import { commandRecord, useWorker } from "./support/commands.js";

const w = useWorker();

async function roomOfFour() {
  const [owner, admin, member, other] = [await w.signUp(), await w.signUp(), await w.signUp(), await w.signUp()];
  const roomId = await w.room(owner, [admin, member, other]);
  await w.ok("SetMemberRole", { roomId, userId: admin, role: "ADMIN" }, owner);
  return { owner, admin, member, other, roomId };
}

const roleOf = async (roomId: string, userId: string) =>
  (
    await w.db
      .select({ role: roomMembers.role })
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
  )[0]?.role;

it("lets only the owner name admins, and hand the room over", async () => {
  const { owner, admin, member, roomId } = await roomOfFour();
  expect(await roleOf(roomId, owner)).toBe("OWNER");
  expect(await w.refused("SetMemberRole", { roomId, userId: member, role: "ADMIN" }, admin)).toMatchObject({
    code: "FORBIDDEN",
  });
  expect(await w.refused("SetMemberRole", { roomId, userId: owner, role: "MEMBER" }, owner)).toMatchObject({
    code: "BAD_USER_INPUT",
  });
  expect(await w.refused("SetMemberRole", { roomId, userId: randomUUID(), role: "ADMIN" }, owner)).toMatchObject({
    code: "NOT_FOUND",
  });
  const [handed] = await w.apply(commandRecord("SetMemberRole", { roomId, userId: member, role: "OWNER" }, owner));
  expect(handed!.answer!.events).toEqual([
    { type: "MemberRoleChanged", roomId, userId: member, role: "OWNER", changedBy: owner },
    { type: "MemberRoleChanged", roomId, userId: owner, role: "ADMIN", changedBy: owner },
  ]);
  expect([await roleOf(roomId, member), await roleOf(roomId, owner)]).toEqual(["OWNER", "ADMIN"]);
});

it("lets admins remove members but not admins or the owner", async () => {
  const { owner, admin, member, other, roomId } = await roomOfFour();
  await w.ok("SetMemberRole", { roomId, userId: other, role: "ADMIN" }, owner);
  expect(await w.refused("RemoveMember", { roomId, userId: other }, admin)).toMatchObject({ code: "FORBIDDEN" });
  expect(await w.refused("RemoveMember", { roomId, userId: owner }, admin)).toMatchObject({ code: "FORBIDDEN" });
  await w.ok("RemoveMember", { roomId, userId: member }, admin);
  await w.ok("RemoveMember", { roomId, userId: other }, owner);
});

it("passes an owner's room to the oldest admin when they leave, else to the oldest member", async () => {
  const { owner, admin, member, other, roomId } = await roomOfFour();
  const [left] = await w.apply(commandRecord("LeaveRoom", { roomId }, owner));
  expect(left!.answer!.events).toEqual([
    { type: "MemberLeft", roomId, userId: owner },
    { type: "MemberRoleChanged", roomId, userId: admin, role: "OWNER" },
  ]);
  await w.ok("LeaveRoom", { roomId }, admin);
  // The two joined together: one of them, and only one, owns it now.
  const roles = [await roleOf(roomId, member), await roleOf(roomId, other)];
  expect(roles.filter((role) => role === "OWNER")).toHaveLength(1);
});

it("lets the owner and admins rename a group room and delete others' messages, naming who did", async () => {
  const { owner, admin, member, roomId } = await roomOfFour();
  expect(await w.refused("RenameRoom", { roomId, name: "mine now" }, member)).toMatchObject({ code: "FORBIDDEN" });
  const [renamed] = await w.apply(commandRecord("RenameRoom", { roomId, name: "Team" }, admin));
  expect(renamed!.answer!.events).toEqual([{ type: "RoomRenamed", roomId, name: "Team", renamedBy: admin }]);
  const sent = await w.ok<MessageRow>("SendMessage", { roomId, body: "spam", clientMessageId: null }, member);
  const other = await w.ok<MessageRow>("SendMessage", { roomId, body: "fine", clientMessageId: null }, owner);
  expect(await w.refused("DeleteMessage", { roomId, messageId: other.id }, member)).toMatchObject({
    code: "FORBIDDEN",
  });
  await w.ok("DeleteMessage", { roomId, messageId: sent.id }, admin);
  const [tombstone] = await w.db.select().from(messages).where(eq(messages.id, sent.id));
  expect(tombstone).toMatchObject({ body: "", deletedBy: admin });
});

it("gives a direct room no roles: nobody names admins or renames it", async () => {
  const [alice, bob] = [await w.signUp(), await w.signUp()];
  await w.ok("AddFriends", { friendIds: [bob] }, alice);
  const { directRoomId } = await import("../../src/features/rooms/directRooms.commands.js");
  const roomId = directRoomId(alice, bob);
  await w.ok("OpenDirectRoom", { roomId, userId: bob }, alice);
  expect(await w.refused("SetMemberRole", { roomId, userId: bob, role: "ADMIN" }, alice)).toMatchObject({
    code: "FORBIDDEN",
  });
  expect(await w.refused("RenameRoom", { roomId, name: "us" }, alice)).toMatchObject({ code: "FORBIDDEN" });
  // Either member pins in a direct room.
  const sent = await w.ok<MessageRow>("SendMessage", { roomId, body: "pin me", clientMessageId: null }, bob);
  await w.ok("PinMessage", { roomId, messageId: sent.id }, alice);
});
