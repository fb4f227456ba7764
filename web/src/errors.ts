import type { CombinedError } from "@urql/core";

/** What to tell a person when the API says no: by `extensions.code`, with the API's own words where they help. */
export function explain(error: CombinedError | Error | null | undefined): string | null {
  if (!error) return null;
  if ("networkError" in error && error.networkError)
    return "Can't reach the server. Check your connection and try again.";
  const first = "graphQLErrors" in error ? error.graphQLErrors[0] : undefined;
  const code = first?.extensions?.code;
  const message = first?.message ?? error.message;
  switch (code) {
    case "UNAUTHENTICATED":
      return message.includes("username or password") ? "Wrong username or password." : "Please sign in again.";
    case "FORBIDDEN":
      return `Not allowed: ${message}.`;
    case "NOT_FOUND":
      return `Not found: ${message}.`;
    case "BAD_USER_INPUT":
      return `Please check what you typed: ${message}.`;
    case "TOO_MANY_REQUESTS":
      return `Slow down a little; try again in ${first?.extensions?.retryAfterSeconds ?? "a few"} seconds.`;
    case "MUTED":
      return `You can't send for now: ${message}.`;
    case "COMMAND_TIMEOUT":
    case "SERVICE_UNAVAILABLE":
      return "The server is busy. Your message will be sent when you retry.";
    default:
      return "Something went wrong. Please try again.";
  }
}
