import { z } from "zod";
import { typedText } from "../../shared/text.js";

/**
 * What a user's fields may hold, written once: the API checks arguments with these and the
 * workers check command payloads with the same, so nothing the API accepts is refused later.
 */
export const username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_]{3,32}$/, "must be 3-32 characters of a-z, 0-9 and _");
export const displayName = typedText({ min: 1, max: 64 });
export const MAX_STATUS_MESSAGE_LENGTH = 140;
export const statusMessage = typedText({ max: MAX_STATUS_MESSAGE_LENGTH });
/** RFC 5321's limit on a forward path. */
const MAX_EMAIL_LENGTH = 254;
export const email = z
  .string()
  .trim()
  .max(MAX_EMAIL_LENGTH, `must be at most ${MAX_EMAIL_LENGTH} characters`)
  .pipe(z.email("must be a valid email address"))
  .transform((e) => e.toLowerCase());
