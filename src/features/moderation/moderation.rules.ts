import { typedText } from "../../shared/text.js";

/** Why a member reports a message, for the API's arguments and the workers' payloads alike. */
export const reportReason = typedText({ min: 1, max: 500, multiline: true });

/** What the moderation consumer acts on, from its settings. */
export interface ModerationPolicy {
  /** Distinct members' reports that hide a message. */
  reportsToHide: number;
  /** A sender who sends the same text to this many rooms within `floodWindowMs` is muted. */
  floodRooms: number;
  floodWindowMs: number;
  muteMs: number;
}

export const shouldHide = (reports: number, policy: ModerationPolicy) => reports >= policy.reportsToHide;

/**
 * The same text sent by one sender to many rooms in a short time (the usual spam run), kept
 * per sender in memory: a restart forgets the window, which only delays a mute.
 */
export class FloodDetector {
  private readonly recent = new Map<string, Array<{ text: string; roomId: string; at: number }>>();

  constructor(private readonly policy: ModerationPolicy) {}

  /** Notes a message; true when it completes a flood (the sender should be muted). */
  noteMessage(senderId: string, roomId: string, text: string, at: number): boolean {
    const since = at - this.policy.floodWindowMs;
    const kept = (this.recent.get(senderId) ?? []).filter((m) => m.at > since);
    kept.push({ text: text.trim().toLowerCase(), roomId, at });
    this.recent.set(senderId, kept);
    const rooms = new Set(kept.filter((m) => m.text === kept.at(-1)!.text).map((m) => m.roomId));
    if (rooms.size < this.policy.floodRooms) return false;
    this.recent.delete(senderId);
    return true;
  }

  /** Forgets senders with nothing in the window (called now and then, so memory stays bounded). */
  prune(now: number) {
    const since = now - this.policy.floodWindowMs;
    for (const [sender, kept] of this.recent) if (!kept.some((m) => m.at > since)) this.recent.delete(sender);
  }
}
