import { z } from "zod";

export const notificationLevel = z.enum(["ALL", "MENTIONS", "NONE"]);
export type NotificationLevel = z.infer<typeof notificationLevel>;

/**
 * Whether a feed event notifies its viewer, decided once here for the feed and any push
 * service behind it: a message from someone else at ALL, unless it mentions them; a mention
 * at ALL or MENTIONS. So a message notifies a member at most once.
 */
export function notifies(
  level: string,
  event: { kind: "message"; fromViewer: boolean; mentionsViewer: boolean } | { kind: "mention" },
): boolean {
  if (event.kind === "mention") return level !== "NONE";
  return level === "ALL" && !event.fromViewer && !event.mentionsViewer;
}
