import { GraphQLError } from "graphql";

/**
 * The error vocabulary shared by the API and the workers. graphql-js copies `extensions`
 * from a thrown error onto the GraphQL error, so these reach HTTP and WebSocket clients alike.
 */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "COMMAND_TIMEOUT"
  | "SERVICE_UNAVAILABLE"
  | "TOO_MANY_REQUESTS"
  | "CURSOR_EXPIRED"
  | "MUTED"
  | "PERSISTED_QUERY_NOT_FOUND"
  | "TRUSTED_DOCUMENT_REQUIRED"
  | "INTERNAL_SERVER_ERROR";

export const errorCodes: readonly ErrorCode[] = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "COMMAND_TIMEOUT",
  "SERVICE_UNAVAILABLE",
  "TOO_MANY_REQUESTS",
  "CURSOR_EXPIRED",
  "MUTED",
  "PERSISTED_QUERY_NOT_FOUND",
  "TRUSTED_DOCUMENT_REQUIRED",
  "INTERNAL_SERVER_ERROR",
];

export class AppError extends Error {
  readonly extensions: { code: ErrorCode } & Record<string, unknown>;
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "AppError";
    this.extensions = { ...extra, code };
  }
}

export const unauthenticated = (message = "sign in first: send Authorization: Bearer <token>") =>
  new AppError("UNAUTHENTICATED", message);
export const forbidden = (message: string) => new AppError("FORBIDDEN", message);
export const notFound = (message: string) => new AppError("NOT_FOUND", message);
export const badInput = (message: string, field?: string) =>
  new AppError("BAD_USER_INPUT", message, field ? { field } : {});

/** An AppError where a GraphQLError must be returned rather than thrown (graphql-ws hooks), optionally with Apollo's HTTP status. */
export const asGraphQLError = (error: AppError, httpStatus?: number) =>
  new GraphQLError(error.message, {
    extensions: httpStatus ? { ...error.extensions, http: { status: httpStatus } } : error.extensions,
  });
