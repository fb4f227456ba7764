/**
 * A feed's cursor as clients hold it: opaque text of when it was handed out and, per
 * partition of commands, the place of the last stored event taken into account
 * (commands/positions.ts). `myEvents(after:)` and `messageUpdated(roomId, after:)` replay
 * what came after it.
 */
import type { Place, Positions } from "../../commands/positions.js";
import { AppError, badInput } from "../../shared/errors.js";

const VERSION = "f1";
/** Cursors of a feed with this many partitions or more are refused as not ours. */
const MAX_PARTITIONS = 1000;

export function encodeCursor(positions: Positions, now = Date.now()): string {
  const places = [...positions].map(([partition, [offset, index]]) => `${partition}:${offset}:${index}`);
  return Buffer.from(`${VERSION}|${Math.floor(now / 1000)}|${places.join(",")}`).toString("base64url");
}

export interface FeedCursor {
  issuedAt: Date;
  positions: Positions;
}

/** A cursor this API handed out, or BAD_USER_INPUT; CURSOR_EXPIRED when older than the retention. */
export function decodeCursor(text: string, retentionHours: number, now = Date.now()): FeedCursor {
  const cursor = parse(text);
  if (!cursor) throw badInput("after: is not a cursor this API returned", "after");
  if (now - cursor.issuedAt.getTime() > retentionHours * 3_600_000)
    throw new AppError(
      "CURSOR_EXPIRED",
      `after: the cursor is older than ${retentionHours} hours; read current state again (rooms, messages) and subscribe without it`,
    );
  return cursor;
}

function parse(text: string): FeedCursor | null {
  if (text.length > 20 * MAX_PARTITIONS) return null;
  const [version, seconds, places, ...rest] = Buffer.from(text, "base64url").toString("utf8").split("|");
  if (version !== VERSION || rest.length > 0 || places === undefined || !/^\d{1,12}$/.test(seconds ?? "")) return null;
  const positions = new Map<number, Place>();
  for (const entry of places === "" ? [] : places.split(",")) {
    const numbers = entry.split(":").map(Number);
    if (numbers.length !== 3 || !numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
    const [partition, offset, index] = numbers as [number, number, number];
    if (partition >= MAX_PARTITIONS || positions.has(partition)) return null;
    positions.set(partition, [offset, index]);
  }
  return { issuedAt: new Date(Number(seconds) * 1000), positions };
}
