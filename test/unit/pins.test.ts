/** Pins as the worker applies them, over PGlite: who may pin, the limit, and deletion. */
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { pinnedMessages } from "../../src/db/schema.js";
import { MAX_PINS_PER_ROOM } from "../../src/features/pins/pins.rules.js";
import { commandRecord, useWorker } from "./support/commands.js";

const w = useWorker();

async function roomWithMessages(count: number) {
  const [alice, bob, outsider] = [await w.signUp(), await w.signUp(), await w.signUp()];
  const roomId = await w.room(alice, [bob]);
  const verdicts = await w.apply(...Array.from({ length: count }, (_, i) => w.send(roomId, `m${i}`, alice)));
  const ids = verdicts.map((v) => (v.answer!.outcome as { result: { id: string } }).result.id);
  return { alice, bob, outsider, roomId, ids };
}

it("lets the owner and admins pin for everyone, once, and announces only a change", async () => {
  const { alice, bob, outsider, roomId, ids } = await roomWithMessages(1);
  const pin = { roomId, messageId: ids[0]! };
  expect(await w.refused("PinMessage", pin, bob)).toMatchObject({ code: "FORBIDDEN" });
  await w.ok("SetMemberRole", { roomId, userId: bob, role: "ADMIN" }, alice);
  const [first] = await w.apply(commandRecord("PinMessage", pin, bob));
  expect(first!.answer!.events).toMatchObject([{ type: "MessageUpdated", change: "pinned", message: { id: ids[0] } }]);
  const [again] = await w.apply(commandRecord("PinMessage", pin, bob));
  expect(again!.kind).toBe("applied");
  expect(again!.answer!.events).toEqual([]);
  expect(await w.refused("PinMessage", pin, outsider)).toMatchObject({ code: "FORBIDDEN" });
  const [unpinned] = await w.apply(commandRecord("UnpinMessage", pin, bob));
  expect(unpinned!.answer!.events).toMatchObject([{ change: "unpinned" }]);
  const [unpinnedAgain] = await w.apply(commandRecord("UnpinMessage", pin, bob));
  expect(unpinnedAgain!.answer!.events).toEqual([]);
});

it(`keeps at most ${MAX_PINS_PER_ROOM} pins per room`, async () => {
  const { alice, roomId, ids } = await roomWithMessages(MAX_PINS_PER_ROOM + 1);
  await w.apply(
    ...ids.slice(0, MAX_PINS_PER_ROOM).map((messageId) => commandRecord("PinMessage", { roomId, messageId }, alice)),
  );
  expect(await w.refused("PinMessage", { roomId, messageId: ids.at(-1)! }, alice)).toMatchObject({
    code: "BAD_USER_INPUT",
    message: `a room has at most ${MAX_PINS_PER_ROOM} pinned messages; unpin one first`,
  });
  // Pinning one already pinned is no new pin.
  await w.ok("PinMessage", { roomId, messageId: ids[0]! }, alice);
});

it("unpins a message when it is deleted, and refuses to pin a deleted one", async () => {
  const { alice, roomId, ids } = await roomWithMessages(1);
  const pin = { roomId, messageId: ids[0]! };
  await w.ok("PinMessage", pin, alice);
  await w.ok("DeleteMessage", pin, alice);
  expect(await w.db.select().from(pinnedMessages).where(eq(pinnedMessages.roomId, roomId))).toEqual([]);
  expect(await w.refused("PinMessage", pin, alice)).toMatchObject({ code: "NOT_FOUND" });
});
