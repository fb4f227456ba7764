/**
 * Where stored room events stand in the feed's order. A command's position is its partition
 * and offset in chat.commands; each partition is applied in order by one worker at a time,
 * and its room events are published to the same-numbered partition of chat.events (see the
 * worker's eventRecords), so within a partition positions are the order in which the
 * events were committed and delivered. An event's position adds its index among its
 * command's events. A feed's cursor is a position per partition (features/live/cursor.ts).
 */
import type { RoomEvent } from "./protocol.js";

/** Within one partition: the command's offset and the event's index among its command's events. */
export type Place = readonly [offset: number, index: number];

export interface EventPosition {
  partition: number;
  place: Place;
}

/** Per partition, the place of the last event taken into account. */
export type Positions = ReadonlyMap<number, Place>;

export const isAfter = (a: Place, b: Place) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
export const latest = (a: Place | undefined, b: Place) => (a === undefined || isAfter(b, a) ? b : a);

/** The `position` record header, `partition:offset:index`, or null when absent or malformed. */
export function parsePosition(header: string | undefined): EventPosition | null {
  const parts = header?.split(":");
  if (parts?.length !== 3) return null;
  const [partition, offset, index] = parts.map(Number) as [number, number, number];
  if (![partition, offset, index].every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
  return { partition, place: [offset, index] };
}

/** Positions with `position` taken into account (a copy: snapshots already handed out stay as they were). */
export function advanced(positions: Positions, { partition, place }: EventPosition): Positions {
  const current = positions.get(partition);
  if (current !== undefined && !isAfter(place, current)) return positions;
  return new Map(positions).set(partition, place);
}

/** Per partition, the later of the two. */
export function merged(a: Positions, b: Positions): Positions {
  const out = new Map(a);
  for (const [partition, place] of b) out.set(partition, latest(out.get(partition), place));
  return out;
}

/** The positions of events decoded in this process, set where their records were read. */
const positionsOf = new WeakMap<object, EventPosition>();
export const setPositionOf = (event: object, position: EventPosition) => void positionsOf.set(event, position);
export const positionOf = (event: RoomEvent): EventPosition | undefined => positionsOf.get(event);
