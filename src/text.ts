import { z } from "zod";

/** C0 and C1 control characters (NUL among them), but tab, line feed and carriage return. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const LINE_BREAKS_AND_TABS = /[\t\n\r]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Zero-width characters, bidi marks, embeddings, overrides and isolates, word joiner, BOM. */
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/;

/**
 * Text people typed, with the rules written once: trimmed, Unicode NFC, well-formed (no lone
 * surrogates), no control characters (PostgreSQL refuses NUL, and the rest only hide things),
 * within `max` characters. `multiline` (message bodies) allows line breaks and tabs and the
 * bidi marks right-to-left writing needs; names and one-line texts refuse invisible and
 * direction-changing characters, with which one user can pass for another.
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
          (s) => multiline || !INVISIBLE.test(s),
          "must not contain invisible or direction-changing characters (zero-width, bidi controls)",
        ),
    );
  return min > 0 ? schema.pipe(z.string().min(min, "must not be empty")) : schema;
}
