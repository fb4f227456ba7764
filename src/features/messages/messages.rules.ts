import { typedText } from "../../text.js";

/** A message's text, for the API's arguments and the workers' payloads alike. */
export const MAX_BODY_LENGTH = 4000;
export const messageBody = typedText({ min: 1, max: MAX_BODY_LENGTH, multiline: true });
export const clientMessageId = typedText({ min: 1, max: 128 });
