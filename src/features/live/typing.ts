import { ExpiringMap } from "../../shared/collections.js";
import type { EventBus } from "../../commands/ports.js";
import { TYPING_TTL_MS, type TypingRecord } from "../../commands/protocol.js";
import type { UserRow } from "../../db/schema.js";
import type { AppError } from "../../shared/errors.js";
import { requireId } from "../../shared/validation.js";
import { roomEventStream } from "../rooms/roomEvents.js";
import type { RoomsService } from "../rooms/rooms.service.js";

/** A `typing: true` is published again at most this often while it is repeated. */
const REPUBLISH_MS = TYPING_TTL_MS / 2;

/**
 * Typing indicators: ephemeral events on the room's channel, published by the API process
 * the member calls, never stored. A client may call setTyping on every keystroke: repeats
 * within REPUBLISH_MS are answered from memory (no database read, nothing published), so a
 * typing member costs one event every 3 s. Subscribers see `typing: false` when the member
 * stops, or TYPING_TTL_MS after their last `true` if no stop arrives (a closed tab).
 */
export class Typing {
  /** What each member last published per room, and when. */
  private readonly published = new ExpiringMap<string, { typing: boolean; at: number }>(TYPING_TTL_MS, 100_000);

  constructor(
    private readonly events: EventBus,
    private readonly rooms: RoomsService,
    private readonly queueLimit: number,
  ) {}

  async set(viewer: UserRow, roomId: string, typing: boolean): Promise<boolean> {
    requireId(roomId, "room");
    const key = `${viewer.id}|${roomId}`;
    const last = this.published.get(key);
    const now = Date.now();
    if (typing ? last?.typing && now - last.at < REPUBLISH_MS : !last?.typing) return true;
    await this.rooms.requireMembership(viewer, roomId);
    this.published.set(key, { typing, at: now });
    await this.events.publish({ type: "Typing", roomId, userId: viewer.id, typing });
    return true;
  }

  /** The room's typing events from other members, with lapses; ends FORBIDDEN when the viewer leaves. */
  async stream(
    viewer: UserRow,
    roomId: string,
    onOverflow?: () => void,
  ): Promise<AsyncIterableIterator<TypingRecord | AppError>> {
    await this.rooms.requireMembership(viewer, roomId);
    const lapses = new Map<string, NodeJS.Timeout>();
    const out = roomEventStream<TypingRecord>(this.events.subscribeRoom(roomId, onOverflow), {
      roomId,
      viewerId: viewer.id,
      limit: this.queueLimit,
      onEvent: (event, queue) => {
        if (event.type !== "Typing" || event.userId === viewer.id) return;
        clearTimeout(lapses.get(event.userId));
        if (event.typing) lapses.set(event.userId, setTimeout(lapse, TYPING_TTL_MS, event.userId).unref());
        else lapses.delete(event.userId);
        queue.push(event);
      },
      onClose: () => lapses.forEach((timer) => clearTimeout(timer)),
    });
    function lapse(userId: string) {
      lapses.delete(userId);
      out.push({ type: "Typing", roomId, userId, typing: false });
    }
    return out;
  }
}
