/**
 * Each event this process decoded, named once: subscribers that share an execution result
 * (server/sharedExecution.ts) share it per event, never per entity, so a later event about
 * the same message (an edit, say) is executed anew instead of served the earlier result.
 * Objects read from the database (a replay) have no identity and are never shared.
 */
const identities = new WeakMap<object, string>();
let next = 0;

/** Names a decoded event; `parts` are objects of it that streams hand to resolvers in its place. */
export function identifyEvent(event: object, ...parts: object[]): void {
  const identity = (next++).toString(36);
  identities.set(event, identity);
  for (const part of parts) identities.set(part, identity);
}

/** The identity of an event (or of a part of one), if this process decoded it. */
export function eventIdentity(payload: unknown): string | undefined {
  return typeof payload === "object" && payload !== null ? identities.get(payload) : undefined;
}
