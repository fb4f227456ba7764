import { z } from "zod";

/** C0 and C1 control characters (NUL among them), but tab, line feed and carriage return. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const LINE_BREAKS_AND_TABS = /[\t\n\r\u2028\u2029]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * What a name must not hold, since it renders as nothing or changes how the rest renders:
 * Unicode's Default_Ignorable_Code_Point (zero-width characters, bidi marks and controls,
 * U+00AD soft hyphen, U+061C Arabic letter mark, the Hangul fillers U+115F, U+1160, U+3164
 * and U+FFA0, variation selectors, tag characters U+E0000-E007F), every format character
 * (category Cf), private-use (Co) and unassigned (Cn) code points, and U+2800 Braille
 * pattern blank. Emoji sequences keep their zero-width joiners and variation selectors.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Co}\p{Cn}\u2800]/u;
const EMOJI_SEQUENCE = /\p{Extended_Pictographic}\uFE0F?(?:\u200D\p{Extended_Pictographic}\uFE0F?)*/gu;
/** A name needs something to see: a letter, digit, symbol or punctuation. */
const VISIBLE = /[\p{L}\p{N}\p{S}\p{P}]/u;
/** More combining marks on one character than any script needs ("Zalgo" text covers its neighbours). */
const STACKED_MARKS = /\p{M}{5,}/u;

/**
 * Text people typed, with the rules written once: trimmed, Unicode NFC, well-formed (no lone
 * surrogates), no control characters (PostgreSQL refuses NUL, and the rest only hide things),
 * within `max` characters. `multiline` (message bodies) allows line breaks and tabs and the
 * bidi marks right-to-left writing needs; names and one-line texts refuse invisible and
 * direction-changing characters, with which one user can pass for another (or for nobody:
 * a name of U+3164 renders blank), and need one visible character.
 */
export function typedText(options: { max: number; min?: number; multiline?: boolean }) {
  const { max, min = 0, multiline = false } = options;
  const schema = z
    .string()
    .refine((s) => !LONE_SURROGATE.test(s), "must be valid Unicode text (it has a lone surrogate)")
    .transform((s) => s.normalize("NFC").trim())
    .pipe(
      z
        .string()
        .max(max, `must be at most ${max} characters`)
        .refine((s) => !CONTROL.test(s), "must not contain control characters")
        .refine((s) => multiline || !LINE_BREAKS_AND_TABS.test(s), "must be one line without tabs")
        .refine(
          (s) => multiline || !INVISIBLE.test(s.replace(EMOJI_SEQUENCE, "")),
          "must not contain invisible or direction-changing characters (Unicode default-ignorable, format (Cf), private-use or unassigned code points, Hangul fillers, Braille blank)",
        )
        .refine((s) => multiline || s === "" || VISIBLE.test(s), "must contain a visible character")
        .refine((s) => !STACKED_MARKS.test(s), "must not stack more than 4 combining marks on one character"),
    );
  return min > 0 ? schema.pipe(z.string().min(min, "must not be empty")) : schema;
}
