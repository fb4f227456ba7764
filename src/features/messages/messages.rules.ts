import { forbidden, notFound } from "../../shared/errors.js";
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

/** Only its sender edits or deletes a message. */
export function checkChangeable(message: MessageFacts, actorId: string) {
  if (message.senderId !== actorId) throw forbidden("only its sender can change a message");
}
