import { BoundedQueue } from "../../shared/boundedQueue.js";
import type { RoomEvent } from "../../commands/protocol.js";
import { AppError, forbidden } from "../../shared/errors.js";

/**
 * One subscriber's stream of a room's live events: `onEvent` pushes what the subscriber gets
 * (or nothing) into the returned bounded queue, which ends with a FORBIDDEN item when the
 * subscriber leaves the room. Returning the queue unsubscribes from the room.
 */
export function roomEventStream<T>(
  live: AsyncIterableIterator<RoomEvent>,
  options: {
    roomId: string;
    viewerId: string;
    limit: number;
    onEvent: (event: RoomEvent, out: BoundedQueue<T | AppError>) => void;
    onClose?: () => void;
  },
): BoundedQueue<T | AppError> {
  const out = new BoundedQueue<T | AppError>(
    options.limit,
    () => new AppError("SERVICE_UNAVAILABLE", "subscription fell too far behind; subscribe again"),
    () => {
      options.onClose?.();
      void live.return?.();
    },
  );
  void (async () => {
    try {
      for await (const event of live) {
        if (event.type === "MemberLeft" && event.userId === options.viewerId) {
          out.push(forbidden(`you are no longer a member of room ${options.roomId}`));
          return out.end();
        }
        options.onEvent(event, out);
      }
    } catch (error) {
      out.fail(error);
    }
  })();
  return out;
}
