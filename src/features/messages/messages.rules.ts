import { AppError, badInput, forbidden, notFound } from "../../shared/errors.js";
import { typedText } from "../../shared/text.js";

/** A message's text, for the API's arguments and the workers' payloads alike. */
export const MAX_BODY_LENGTH = 4000;
export const messageBody = typedText({ min: 1, max: MAX_BODY_LENGTH, multiline: true });
export const clientMessageId = typedText({ min: 1, max: 128 });

/**
 * The rules for changing a message, written once: the API calls them for a fast refusal, the
 * worker's handler again in its transaction (the authority: the message may have changed).
 */
type MessageFacts = { senderId: string | null; deletedAt: Date | null };

/** A deleted message (or none) is not found: it can be neither read nor changed nor reacted to. */
export function checkLive<M extends MessageFacts>(message: M | undefined, messageId: string): M {
  if (!message || message.deletedAt) throw notFound(`no message with id ${messageId}`);
  return message;
}

/** Only its sender edits a message. */
export function checkChangeable(message: MessageFacts, actorId: string) {
  if (message.senderId !== actorId) throw forbidden("only its sender can change a message");
}

/** Its sender deletes a message, and so do a group room's owner and admins (`moderator`). */
export function checkDeletable(message: MessageFacts, actorId: string, moderator: boolean) {
  if (message.senderId !== actorId && !moderator)
    throw forbidden("only its sender, or the room's owner and admins, can delete a message");
}

/** At most this many distinct @usernames of a body are looked up as mentions; the rest are text. */
export const MAX_MENTIONS = 20;
// A username (users.rules) after an @ that does not follow a word character (not an email).
const MENTION = /(?<![a-z0-9_@])@([a-z0-9_]{3,32})(?![a-z0-9_])/gi;

/** The distinct usernames a body mentions, lower-case, in order of first mention. */
export function mentionedUsernames(body: string): string[] {
  const names = new Set<string>();
  for (const [, name] of body.matchAll(MENTION)) {
    if (names.size === MAX_MENTIONS) break;
    names.add(name!.toLowerCase());
  }
  return [...names];
}

/**
 * What the worker found of a message a new one refers to: `parentId` (a reply) must name a
 * top-level message of the same room, `quotedMessageId` a live one of the same room. A
 * message of another room, or a deleted one to quote, is not found, as an unknown id: no one
 * learns what other rooms hold.
 */
export type Reference = "none" | "ok" | "missing" | "reply" | "deleted";

export function referenceError(reference: { parent: Reference; quoted: Reference }, roomId: string) {
  if (reference.parent === "missing") return notFound(`parentId: no message with this id in room ${roomId}`);
  if (reference.parent === "reply") return replyToReply();
  if (reference.quoted === "missing" || reference.quoted === "deleted")
    return notFound(`quotedMessageId: no message with this id in room ${roomId}`);
  return null;
}

const replyToReply = () => badInput("parentId: that message is a reply; its thread is its own parentId's", "parentId");

/** A thread hangs off a top-level message: a reply has none of its own (BAD_USER_INPUT). */
export function checkThreadParent<M extends { parentId: string | null }>(message: M): M {
  if (message.parentId !== null) throw replyToReply();
  return message;
}

/** A muted sender's messages are refused until the mute ends (MUTED, saying when). */
export function mutedError(until: string | Date | null) {
  if (until === null) return null;
  const ends = new Date(until).toISOString();
  return new AppError("MUTED", `you are muted until ${ends} for sending the same text to many rooms at once`, {
    mutedUntil: ends,
  });
}
