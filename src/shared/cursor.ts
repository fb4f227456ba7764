import { z } from "zod";

/**
 * Cursors of lists ordered newest first by (time, id): opaque to clients, who pass back what
 * an earlier page gave them (saved messages, mentions).
 */
export const encodeTimeCursor = (time: Date, id: string) =>
  Buffer.from(`${time.toISOString()}|${id}`).toString("base64url");

/** A cursor as `encodeTimeCursor` writes it, or "is not a cursor this API returned". */
export const timeCursor = z.string().transform((value, ctx) => {
  const [text, id] = Buffer.from(value, "base64url").toString("utf8").split("|");
  const time = new Date(text ?? "");
  // Only what encodeTimeCursor writes: a time PostgreSQL can hold, written back the same way.
  const wellFormed = !Number.isNaN(time.getTime()) && time.toISOString() === text && /^\d{4}-/.test(text);
  if (!wellFormed || !z.uuid().safeParse(id).success) {
    ctx.addIssue({ code: "custom", message: "is not a cursor this API returned" });
    return z.NEVER;
  }
  return { time, id: id! };
});
