/**
 * Every command handler's rules, as the worker applies them (the authority), over PGlite:
 * who may do what, what a refusal says, and what each command leaves behind.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { friendships, messages, reactions, roomMembers, rooms, savedMessages, users } from "../../src/db/schema.js";
import { MAX_REACTIONS_PER_USER } from "../../src/features/reactions/reactions.commands.js";
import { directRoomId } from "../../src/features/rooms/directRooms.commands.js";
import { commandRecord, useWorker } from "./support/commands.js";

const w = useWorker();

type Row = { id: string; seq: number; body: string; deletedAt: Date | null };

/** A room of a creator with two friends in it, and one message of each member. */
async function roomOfThree() {
  const [owner, bob, carol] = [await w.signUp(), await w.signUp(), await w.signUp()];
  const roomId = await w.room(owner, [bob, carol]);
  const sent: Row[] = [];
  for (const user of [owner, bob, carol]) {
    const [verdict] = await w.apply(w.send(roomId, `from ${user}`, user));
    sent.push((verdict!.answer!.outcome as { result: Row }).result);
  }
  return { owner, bob, carol, roomId, sent };
}

describe("users and friends", () => {
  it("refuses a taken username and adding yourself or nobody as a friend", async () => {
    const name = `n${randomUUID().slice(0, 8)}`;
    const alice = await w.signUp(name);
    const payload = { userId: randomUUID(), username: name, displayName: "x", email: null, passwordHash: "scrypt$y" };
    expect(await w.refused("SignUp", payload, null)).toMatchObject({
      code: "BAD_USER_INPUT",
      message: `username ${name} is taken`,
    });
    expect(await w.refused("AddFriends", { friendIds: [alice] }, alice)).toMatchObject({ code: "BAD_USER_INPUT" });
    const ghost = randomUUID();
    expect(await w.refused("AddFriends", { friendIds: [ghost] }, alice)).toMatchObject({
      code: "NOT_FOUND",
      message: `no user with id ${ghost}`,
    });
  });

  it("adds friends once, one way, and removes them", async () => {
    const [alice, bob] = [await w.signUp(), await w.signUp()];
    await w.ok("AddFriends", { friendIds: [bob] }, alice);
    await w.ok("AddFriends", { friendIds: [bob] }, alice);
    const rows = await w.db.select().from(friendships).where(eq(friendships.userId, alice));
    expect(rows.map((r) => r.friendId)).toEqual([bob]);
    expect(await w.db.select().from(friendships).where(eq(friendships.userId, bob))).toEqual([]);
    expect(await w.ok("RemoveFriend", { friendId: bob }, alice)).toEqual({ removed: true });
    expect(await w.ok("RemoveFriend", { friendId: bob }, alice)).toEqual({ removed: false });
  });

  it("deletes an account: its rooms lose it, rooms left empty go, its messages keep their seq", async () => {
    const { owner, bob, roomId } = await roomOfThree();
    const [alone] = [await w.signUp()];
    const lonely = await w.room(alone);
    expect(await w.ok("DeleteAccount", { userId: alone }, alone)).toEqual({ deleted: true });
    expect(await w.db.select().from(rooms).where(eq(rooms.id, lonely))).toEqual([]);
    await w.ok("DeleteAccount", { userId: bob }, bob);
    const kept = await w.db.select().from(messages).where(eq(messages.roomId, roomId));
    expect(kept.map((m) => m.seq).sort()).toEqual([1, 2, 3]);
    expect(kept.find((m) => m.seq === 2)!.senderId).toBeNull();
    expect(await w.refused("LogIn", { userId: bob }, bob)).toMatchObject({ code: "UNAUTHENTICATED" });
    expect((await w.db.select().from(users).where(eq(users.id, owner))).length).toBe(1);
  });
});

describe("rooms", () => {
  it("creates a room only with existing friends", async () => {
    const [alice, bob, stranger] = [await w.signUp(), await w.signUp(), await w.signUp()];
    await w.ok("AddFriends", { friendIds: [bob] }, alice);
    const create = (memberIds: string[]) => ({ roomId: randomUUID(), name: "r", memberIds });
    expect(await w.refused("CreateRoom", create([bob, stranger]), alice)).toMatchObject({
      code: "FORBIDDEN",
      message: `only friends can be added to a room; not your friends: ${stranger}`,
    });
    expect(await w.refused("CreateRoom", create([randomUUID()]), alice)).toMatchObject({ code: "NOT_FOUND" });
    const { roomId } = await w.ok<{ roomId: string }>("CreateRoom", create([bob]), alice);
    const members = await w.db.select().from(roomMembers).where(eq(roomMembers.roomId, roomId));
    expect(members.map((m) => m.userId).sort()).toEqual([alice, bob].sort());
  });

  it("lets only the owner and admins remove members, never themselves, never a non-member", async () => {
    const { owner, bob, carol, roomId } = await roomOfThree();
    expect(await w.refused("RemoveMember", { roomId, userId: carol }, bob)).toMatchObject({
      code: "FORBIDDEN",
      message: "only the room's owner and admins remove members",
    });
    expect(await w.refused("RemoveMember", { roomId, userId: owner }, owner)).toMatchObject({ code: "BAD_USER_INPUT" });
    expect(await w.refused("RemoveMember", { roomId, userId: randomUUID() }, owner)).toMatchObject({
      code: "NOT_FOUND",
    });
    const [removed] = await w.apply(commandRecord("RemoveMember", { roomId, userId: bob }, owner));
    expect(removed!.answer!.events).toEqual([{ type: "MemberLeft", roomId, userId: bob, removedBy: owner }]);
    expect(await w.refused("SendMessage", { roomId, body: "still here?", clientMessageId: null }, bob)).toMatchObject({
      code: "FORBIDDEN",
    });
  });

  it("leaving drops the member's saved copies of the room's messages", async () => {
    const { bob, roomId, sent } = await roomOfThree();
    await w.ok("SaveMessage", { messageId: sent[0]!.id }, bob);
    expect(await w.ok("LeaveRoom", { roomId }, bob)).toEqual({ left: true });
    expect(await w.db.select().from(savedMessages).where(eq(savedMessages.userId, bob))).toEqual([]);
    expect(await w.refused("LeaveRoom", { roomId }, bob)).toMatchObject({ code: "FORBIDDEN" });
  });

  it("moves read positions forward only, never past the last message", async () => {
    const { carol, roomId } = await roomOfThree();
    expect(await w.refused("MarkRead", { roomId, seq: 4 }, carol)).toMatchObject({
      code: "BAD_USER_INPUT",
      message: "seq 4 is beyond the room's last message (seq 3)",
    });
    expect(await w.ok("MarkRead", { roomId, seq: 3 }, carol)).toEqual({ lastReadSeq: 3 });
    expect(await w.ok("MarkRead", { roomId, seq: 1 }, carol)).toEqual({ lastReadSeq: 3 });
  });

  it("opens one direct room per pair, only with a friend, and nobody is removed from it", async () => {
    const [alice, bob] = [await w.signUp(), await w.signUp()];
    const roomId = directRoomId(alice, bob);
    expect(await w.refused("OpenDirectRoom", { roomId, userId: bob }, alice)).toMatchObject({ code: "FORBIDDEN" });
    expect(await w.refused("OpenDirectRoom", { roomId: randomUUID(), userId: bob }, alice)).toMatchObject({
      message: "not the direct room of these users",
    });
    await w.ok("AddFriends", { friendIds: [bob] }, alice);
    expect(await w.ok("OpenDirectRoom", { roomId, userId: bob }, alice)).toEqual({ roomId });
    expect(await w.ok("OpenDirectRoom", { roomId, userId: alice }, bob)).toEqual({ roomId });
    expect(await w.refused("RemoveMember", { roomId, userId: bob }, alice)).toMatchObject({
      message: "nobody is removed from a direct room; leave it instead",
    });
  });
});

describe("messages, reactions and saved copies", () => {
  it("lets only the sender edit or delete, and nobody change a deleted message", async () => {
    const { owner, bob, roomId, sent } = await roomOfThree();
    const own = { roomId, messageId: sent[1]!.id };
    expect(await w.refused("EditMessage", { ...own, body: "mine now" }, owner)).toMatchObject({
      code: "FORBIDDEN",
      message: "only its sender can change a message",
    });
    expect(await w.ok("EditMessage", { ...own, body: "edited" }, bob)).toMatchObject({ body: "edited", seq: 2 });
    const deleted = await w.ok<Row>("DeleteMessage", own, bob);
    expect(deleted).toMatchObject({ body: "", seq: 2 });
    expect(deleted.deletedAt).not.toBeNull();
    for (const [type, payload] of [
      ["EditMessage", { ...own, body: "again" }],
      ["DeleteMessage", own],
      ["React", { ...own, emoji: "👍" }],
    ] as const)
      expect(await w.refused(type, payload, bob)).toMatchObject({
        code: "NOT_FOUND",
        message: `no message with id ${own.messageId}`,
      });
  });

  it("deleting a message drops its reactions and saved copies", async () => {
    const { owner, carol, roomId, sent } = await roomOfThree();
    const own = { roomId, messageId: sent[0]!.id };
    await w.ok("React", { ...own, emoji: "👍" }, carol);
    await w.ok("SaveMessage", { messageId: own.messageId }, carol);
    await w.ok("DeleteMessage", own, owner);
    expect(await w.db.select().from(reactions).where(eq(reactions.messageId, own.messageId))).toEqual([]);
    expect(await w.db.select().from(savedMessages).where(eq(savedMessages.messageId, own.messageId))).toEqual([]);
  });

  it("announces a reaction only when it changes something, and caps a user's reactions per message", async () => {
    const { bob, roomId, sent } = await roomOfThree();
    const own = { roomId, messageId: sent[0]!.id };
    const [first] = await w.apply(commandRecord("React", { ...own, emoji: "👍" }, bob));
    const [repeat] = await w.apply(commandRecord("React", { ...own, emoji: "👍" }, bob));
    expect(first!.answer!.events).toHaveLength(1);
    expect(repeat!.answer!.events).toEqual([]);
    const emojis = [
      "😀",
      "😁",
      "😂",
      "🤣",
      "😃",
      "😄",
      "😅",
      "😆",
      "😉",
      "😊",
      "😋",
      "😎",
      "😍",
      "😘",
      "🥰",
      "😗",
      "😙",
      "🥲",
      "😚",
    ];
    for (const emoji of emojis.slice(0, MAX_REACTIONS_PER_USER - 1)) await w.ok("React", { ...own, emoji }, bob);
    expect(await w.refused("React", { ...own, emoji: "🙂" }, bob)).toMatchObject({ code: "BAD_USER_INPUT" });
    const mine = await w.db
      .select()
      .from(reactions)
      .where(and(eq(reactions.messageId, own.messageId), eq(reactions.userId, bob)));
    expect(mine).toHaveLength(MAX_REACTIONS_PER_USER);
  });

  it("saves only messages of your rooms, once", async () => {
    const { carol, sent } = await roomOfThree();
    const outsider = await w.signUp();
    expect(await w.refused("SaveMessage", { messageId: sent[0]!.id }, outsider)).toMatchObject({ code: "FORBIDDEN" });
    expect(await w.refused("SaveMessage", { messageId: randomUUID() }, carol)).toMatchObject({ code: "NOT_FOUND" });
    const first = await w.ok<{ savedAt: string }>("SaveMessage", { messageId: sent[0]!.id }, carol);
    const again = await w.ok<{ savedAt: string }>("SaveMessage", { messageId: sent[0]!.id }, carol);
    expect(again.savedAt).toEqual(first.savedAt);
  });
});
