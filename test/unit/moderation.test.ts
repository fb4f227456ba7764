/** Reports, hiding and mutes as the worker applies them, and the flood detector, over PGlite. */
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { messages, type MessageRow } from "../../src/db/schema.js";
import { FloodDetector } from "../../src/features/moderation/moderation.rules.js";
import { commandRecord, useWorker } from "./support/commands.js";

const w = useWorker();

it("counts each member's report of a message once, and never a non-member's", async () => {
  const [alice, bob, carol, outsider] = [await w.signUp(), await w.signUp(), await w.signUp(), await w.signUp()];
  const roomId = await w.room(alice, [bob, carol]);
  const sent = await w.ok<MessageRow>("SendMessage", { roomId, body: "rude", clientMessageId: null }, alice);
  const report = { roomId, messageId: sent.id, reason: "rude" };
  const [first] = await w.apply(commandRecord("ReportMessage", report, bob));
  expect(first!.answer!.events).toEqual([{ type: "MessageReported", roomId, messageId: sent.id, reports: 1 }]);
  const [again] = await w.apply(commandRecord("ReportMessage", report, bob));
  expect(again!.answer!.events).toEqual([]);
  const [second] = await w.apply(commandRecord("ReportMessage", report, carol));
  expect(second!.answer!.events).toMatchObject([{ reports: 2 }]);
  expect(await w.refused("ReportMessage", report, outsider)).toMatchObject({ code: "FORBIDDEN" });
  // A payload no API would send never applies.
  const [empty] = await w.apply(commandRecord("ReportMessage", { ...report, reason: "" }, bob));
  expect(empty!.kind).toBe("deadLetter");
});

it("hides a message once, keeping its text, and refuses a muted sender until the mute ends", async () => {
  const [alice, bob] = [await w.signUp(), await w.signUp()];
  const roomId = await w.room(alice, [bob]);
  const sent = await w.ok<MessageRow>("SendMessage", { roomId, body: "spam", clientMessageId: null }, bob);
  const [hidden] = await w.apply(commandRecord("HideMessage", { roomId, messageId: sent.id }, null));
  expect(hidden!.answer!.events).toMatchObject([{ type: "MessageUpdated", change: "hidden" }]);
  const [again] = await w.apply(commandRecord("HideMessage", { roomId, messageId: sent.id }, null));
  expect(again!.answer!.events).toEqual([]);
  const [row] = await w.db.select().from(messages).where(eq(messages.id, sent.id));
  expect(row).toMatchObject({ body: "spam" });
  expect(row!.hiddenAt).not.toBeNull();

  const until = new Date(Date.now() + 60_000).toISOString();
  await w.ok("MuteUser", { userId: bob, until, reason: "flood" }, null);
  const refused = await w.refused("SendMessage", { roomId, body: "more", clientMessageId: null }, bob);
  expect(refused).toMatchObject({ code: "MUTED" });
  expect(refused.message).toContain(until);
  await w.ok("MuteUser", { userId: bob, until: new Date(Date.now() - 1000).toISOString(), reason: "shorter" }, null);
  expect(await w.refused("SendMessage", { roomId, body: "still", clientMessageId: null }, bob)).toMatchObject({
    code: "MUTED",
  });
  await w.ok("SendMessage", { roomId, body: "alice is fine", clientMessageId: null }, alice);
});

it("sees a flood in the same text sent to many rooms within the window, not in other traffic", () => {
  const detector = new FloodDetector({ reportsToHide: 3, floodRooms: 3, floodWindowMs: 60_000, muteMs: 600_000 });
  expect(detector.noteMessage("s", "r1", "Buy now", 0)).toBe(false);
  expect(detector.noteMessage("s", "r1", "buy now", 1000)).toBe(false); // one room twice is no flood
  expect(detector.noteMessage("s", "r2", "something else", 2000)).toBe(false);
  expect(detector.noteMessage("other", "r3", "buy now", 2500)).toBe(false);
  expect(detector.noteMessage("s", "r2", "BUY NOW ", 3000)).toBe(false);
  expect(detector.noteMessage("s", "r3", "buy now", 4000)).toBe(true);
  // Outside the window the count starts again.
  expect(detector.noteMessage("s", "r1", "again", 100_000)).toBe(false);
  expect(detector.noteMessage("s", "r2", "again", 200_000)).toBe(false);
  expect(detector.noteMessage("s", "r3", "again", 300_000)).toBe(false);
});
