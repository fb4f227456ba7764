import { z } from "zod";

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
/** Pictographs (with their modifiers and joiners), flags (regional indicator pairs), keycaps. */
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|\u20E3/u;
const SHORT_CODE = /^:[a-z0-9_+-]{1,32}:$/;

/**
 * A reaction: one grapheme of Unicode emoji (👍, 👩‍👩‍👧, 🇰🇷, 1️⃣), or a short code such as
 * `:party_parrot:` (lower-case letters, digits, _, + and -) for custom emoji a client draws.
 */
export const emoji = z
  .string()
  .max(64, "must be one emoji or a :short_code:")
  .refine(
    (value) => SHORT_CODE.test(value) || ([...segmenter.segment(value)].length === 1 && EMOJI.test(value)),
    "must be one emoji or a :short_code: (a-z, 0-9, _, +, -)",
  );
