/** Replies, quotes, mentions, thread read positions and notification levels as the worker stores them, over PGlite. */
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { threadReads, type MessageRow } from "../../src/db/schema.js";
import { notifies } from "../../src/features/notifications/notifications.rules.js";
import { MAX_MENTIONS, mentionedUsernames } from "../../src/features/messages/messages.rules.js";
import { commandRecord, useWorker } from "./support/commands.js";

const w = useWorker();

const send = (roomId: string, actorId: string, body: string, extra: object = {}) =>
  commandRecord("SendMessage", { roomId, body, clientMessageId: null, ...extra }, actorId);
const name = () => `u${randomUUID().slice(0, 8)}`;

async function people() {
  const names = [name(), name(), name()];
  const [alice, bob, carol] = [await w.signUp(names[0]), await w.signUp(names[1]), await w.signUp(names[2])];
  const roomId = await w.room(alice!, [bob!]);
  return { alice: alice!, bob: bob!, carol: carol!, names: names as [string, string, string], roomId };
}

it("stores a reply in the thread of a top-level message, and answers a redelivery alike", async () => {
  const { alice, bob, roomId } = await people();
  const parent = await w.ok<MessageRow>("SendMessage", { roomId, body: "parent", clientMessageId: null }, alice);
  const records = [
    send(roomId, bob, "first reply", { parentId: parent.id }),
    send(roomId, alice, "second reply", { parentId: parent.id }),
  ];
  const [reply, second] = await w.apply(...records);
  // Replies keep the room's gapless seq.
  expect(reply!.answer!.outcome).toMatchObject({ ok: true, result: { parentId: parent.id, seq: parent.seq + 1 } });
  expect(second!.answer!.events).toMatchObject([
    { type: "MessageAdded", message: { seq: parent.seq + 2, parentId: parent.id } },
  ]);
  // Applied again (a redelivery), the same answer.
  const [replayed] = await w.apply(records[1]!);
  expect(replayed).toMatchObject({ kind: "replayed", answer: { events: second!.answer!.events } });
});

it("refuses a reply to a reply, and a parent or quote of another room as unknown", async () => {
  const { alice, bob, roomId } = await people();
  const otherRoom = await w.room(alice);
  const parent = await w.ok<MessageRow>("SendMessage", { roomId, body: "parent", clientMessageId: null }, alice);
  const elsewhere = await w.ok<MessageRow>(
    "SendMessage",
    { roomId: otherRoom, body: "x", clientMessageId: null },
    alice,
  );
  const reply = await w.ok<MessageRow>(
    "SendMessage",
    { roomId, body: "reply", clientMessageId: null, parentId: parent.id },
    bob,
  );
  const payload = (extra: object) => ({ roomId, body: "again", clientMessageId: null, ...extra });
  expect(await w.refused("SendMessage", payload({ parentId: reply.id }), bob)).toMatchObject({
    code: "BAD_USER_INPUT",
  });
  expect(await w.refused("SendMessage", payload({ parentId: elsewhere.id }), alice)).toMatchObject({
    code: "NOT_FOUND",
  });
  expect(await w.refused("SendMessage", payload({ quotedMessageId: elsewhere.id }), alice)).toMatchObject({
    code: "NOT_FOUND",
  });
  expect(await w.refused("SendMessage", payload({ quotedMessageId: randomUUID() }), alice)).toMatchObject({
    code: "NOT_FOUND",
  });
  // A refusal takes no seq: the next message follows the reply.
  const next = await w.ok<MessageRow>("SendMessage", payload({ quotedMessageId: reply.id }), alice);
  expect(next).toMatchObject({ seq: reply.seq + 1, quotedMessageId: reply.id });
});

it("refuses to quote a deleted message", async () => {
  const { alice, roomId } = await people();
  const quoted = await w.ok<MessageRow>("SendMessage", { roomId, body: "soon gone", clientMessageId: null }, alice);
  await w.ok("DeleteMessage", { roomId, messageId: quoted.id }, alice);
  const refused = await w.refused(
    "SendMessage",
    { roomId, body: "quoting", clientMessageId: null, quotedMessageId: quoted.id },
    alice,
  );
  expect(refused).toMatchObject({ code: "NOT_FOUND" });
});

it("finds mentions of room members only, never the sender, whatever the client sends", async () => {
  const { alice, bob, names, roomId } = await people();
  const [aliceName, bobName, carolName] = names;
  const body = `hi @${bobName.toUpperCase()} and @${carolName} (not here), me @${aliceName}, mail x@${bobName}`;
  const message = await w.ok<MessageRow>(
    "SendMessage",
    { roomId, body, clientMessageId: null, mentionIds: [alice] },
    alice,
  );
  expect(message.mentionIds).toEqual([bob]);

  // An edit finds them again; its event names only who it mentions for the first time.
  const plain = await w.ok<MessageRow>("SendMessage", { roomId, body: "nobody", clientMessageId: null }, alice);
  const edit = (body: string) => commandRecord("EditMessage", { roomId, messageId: plain.id, body }, alice);
  const [first] = await w.apply(edit(`now @${bobName}`));
  expect(first!.answer!.events).toMatchObject([{ change: "edited", message: { mentionIds: [bob] }, mentioned: [bob] }]);
  const [again] = await w.apply(edit(`still @${bobName}`));
  expect(again!.answer!.events![0]).not.toHaveProperty("mentioned");
  const [deleted] = await w.apply(commandRecord("DeleteMessage", { roomId, messageId: plain.id }, alice));
  expect(deleted!.answer!.events).toMatchObject([{ change: "deleted", message: { mentionIds: [] } }]);
});

it("reads at most the first mentions of a body, once each, not inside an email address", () => {
  const body = Array.from({ length: MAX_MENTIONS + 5 }, (_, i) => `@user_${i} @user_${i}`).join(" ");
  expect(mentionedUsernames(body)).toHaveLength(MAX_MENTIONS);
  expect(mentionedUsernames("a@bob_b.com @Carol_c, @@dan_d")).toEqual(["carol_c"]);
});

it("moves a thread read position forward only, never past the room's newest message", async () => {
  const { alice, bob, roomId } = await people();
  const parent = await w.ok<MessageRow>("SendMessage", { roomId, body: "parent", clientMessageId: null }, alice);
  const reply = await w.ok<MessageRow>(
    "SendMessage",
    { roomId, body: "reply", clientMessageId: null, parentId: parent.id },
    bob,
  );
  const read = (seq: number, parentId = parent.id) => ({ roomId, parentId, seq });
  const position = async () =>
    (await w.db.select().from(threadReads).where(eq(threadReads.parentId, parent.id)))[0]?.lastReadSeq;
  await w.ok("MarkThreadRead", read(1000), alice);
  expect(await position()).toBe(reply.seq);
  await w.ok("MarkThreadRead", read(1), alice);
  expect(await position()).toBe(reply.seq);
  expect(await w.refused("MarkThreadRead", read(1, reply.id), alice)).toMatchObject({ code: "BAD_USER_INPUT" });
  const outsider = await w.signUp();
  expect(await w.refused("MarkThreadRead", read(1), outsider)).toMatchObject({ code: "FORBIDDEN" });
});

it("keeps a member's notification level, for members only and from the three levels", async () => {
  const { alice, carol, roomId } = await people();
  const [set] = await w.apply(commandRecord("SetRoomNotifications", { roomId, level: "MENTIONS" }, alice));
  expect(set!.answer!.events).toEqual([{ type: "NotificationLevelChanged", roomId, userId: alice, level: "MENTIONS" }]);
  expect(await w.refused("SetRoomNotifications", { roomId, level: "NONE" }, carol)).toMatchObject({
    code: "FORBIDDEN",
  });
  const [loud] = await w.apply(commandRecord("SetRoomNotifications", { roomId, level: "LOUD" }, alice));
  expect(loud!.kind).toBe("deadLetter");
});

it("notifies once per message: a message at ALL unless it mentions you, a mention unless NONE", () => {
  const message = (fromViewer: boolean, mentionsViewer: boolean) =>
    ({ kind: "message", fromViewer, mentionsViewer }) as const;
  expect(notifies("ALL", message(false, false))).toBe(true);
  expect(notifies("ALL", message(true, false))).toBe(false);
  expect(notifies("ALL", message(false, true))).toBe(false);
  expect(notifies("MENTIONS", message(false, false))).toBe(false);
  expect(["ALL", "MENTIONS", "NONE"].map((level) => notifies(level, { kind: "mention" }))).toEqual([true, true, false]);
});
