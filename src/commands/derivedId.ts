import { createHash } from "node:crypto";

/**
 * The UUID that `name` stands for (RFC 9562 version 8, from SHA-256): every process derives
 * the same one, so a thing named twice (a direct room asked for from both sides, a message a
 * client sends again) is one row, found by its primary key.
 */
export function derivedUuid(name: string): string {
  const hex = createHash("sha256").update(name).digest("hex");
  // Version 8 (custom) in the 13th digit, variant 10 in the 17th.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
