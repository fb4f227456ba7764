import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";
import proxyAddr from "proxy-addr";
import type { Logger } from "../shared/logger.js";
import { countRefusals, type Metrics } from "../shared/metrics.js";
import { AppError } from "../shared/errors.js";
import { SpanKind, tracing } from "../shared/tracing.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./jsonDepth.js";
import type { TrustedDocuments } from "./trustedDocuments.js";

/** A JSON body without a charset, or in UTF-8: anything else is Express's to answer. */
const PLAIN_JSON = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export interface GraphQLPostOptions<Context extends BaseContext> {
  apollo: ApolloServer<Context>;
  context(req: IncomingMessage, clientAddress: string | undefined): Promise<Context>;
  /** Express's compiled `trust proxy` setting, so the client address is the one Express would see. */
  trustProxy: (address: string, hop: number) => boolean;
  trustedDocuments: TrustedDocuments;
  logger: Logger;
  metrics: Metrics;
}

/** The largest request body, as Express's JSON parser counts "1mb". */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Errors before GraphQL, in the shape GraphQL clients read; Express's route answers the same. */
export const beforeGraphQL = {
  badJson: { status: 400, code: "BAD_REQUEST", message: "the request body is not valid JSON" },
  tooLarge: { status: 413, code: "PAYLOAD_TOO_LARGE", message: "the request body is larger than 1 MB" },
  tooDeep: {
    status: 400,
    code: "BAD_REQUEST",
    message: `the request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
  },
  internal: { status: 500, code: "INTERNAL_SERVER_ERROR", message: "Internal server error" },
} as const;

export type BeforeGraphQLError = (typeof beforeGraphQL)[keyof typeof beforeGraphQL];

export const errorBody = ({ code, message }: { code: string; message: string }) => ({
  errors: [{ message, extensions: { code } }],
});

/**
 * `POST /graphql` with a plain JSON body, answered by Apollo straight from Node's server: the
 * request every message costs skips Express's router, body-parser and response helpers (about a
 * tenth of the API's CPU). It answers exactly as the Express route does (CORS header, strict
 * JSON, the 1 MB limit, the same errors); anything else (preflights, Sandbox's GET, other
 * content types or encodings, a declared length over the limit) returns false and goes to Express.
 */
export function graphqlPostHandler<Context extends BaseContext>(options: GraphQLPostOptions<Context>) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? "";
    const query = url.indexOf("?");
    if (req.method !== "POST" || (query === -1 ? url : url.slice(0, query)) !== "/graphql") return false;
    if (!PLAIN_JSON.test(req.headers["content-type"] ?? "")) return false;
    const encoding = req.headers["content-encoding"];
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") return false;
    const declared = req.headers["content-length"];
    if (declared === "0" || Number(declared) > BODY_LIMIT_BYTES) return false;

    res.setHeader("access-control-allow-origin", "*"); // cors() with its defaults, as on the Express route
    readBody(req, res, (body) => {
      const trusted = options.trustedDocuments.resolveBody(body);
      if (trusted instanceof AppError) {
        countRefusals(options.metrics, [trusted]);
        return answer(res, { status: 400, code: trusted.code, message: trusted.message });
      }
      execute(options, req, res, trusted, query === -1 ? "" : url.slice(query)).catch((error: unknown) => {
        options.logger.error({ err: error }, "unexpected error before GraphQL");
        if (!res.headersSent) answer(res, beforeGraphQL.internal);
        else res.destroy();
      });
    });
    return true;
  };
}

function answer(res: ServerResponse, error: { status: number; code: string; message: string }) {
  res.statusCode = error.status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.end(JSON.stringify(errorBody(error)));
}

/** Reads and parses the body as body-parser's strict mode would, answering its errors itself. */
function readBody(req: IncomingMessage, res: ServerResponse, then: (body: unknown) => void) {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("error", () => {}); // the client went away mid-body: there is no one to answer
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= BODY_LIMIT_BYTES) chunks.push(chunk);
  });
  req.on("end", () => {
    // Past the limit the rest is read and dropped, as Express's parser does, then refused.
    if (size > BODY_LIMIT_BYTES) return answer(res, beforeGraphQL.tooLarge);
    const text = Buffer.concat(chunks, size).toString("utf8");
    let body: unknown = {};
    try {
      // body-parser's strict mode: an object or an array, and an empty body is {}.
      if (text !== "") {
        if (!/^[\x20\x09\x0a\x0d]*[[{]/.test(text)) throw new SyntaxError("not an object or array");
        if (nestsDeeperThan(text)) return answer(res, beforeGraphQL.tooDeep);
        body = JSON.parse(text);
      }
    } catch {
      return answer(res, beforeGraphQL.badJson);
    }
    then(body);
  });
}

async function execute<Context extends BaseContext>(
  options: GraphQLPostOptions<Context>,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  search: string,
) {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers))
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
  const clientAddress = proxyAddr(req, options.trustProxy);
  // The trace of this operation (named for it once Apollo has read it: tracingPlugin).
  const request = () => ({
    name: "POST /graphql",
    kind: SpanKind.SERVER,
    attributes: { "http.request.method": "POST", "url.path": "/graphql" },
    parent: tracing.extract(req.headers),
  });
  await tracing.span(request, async (span) => {
    const response = await options.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: "POST", headers, search, body },
      context: () => options.context(req, clientAddress),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    span?.setAttribute("http.response.status_code", res.statusCode);
    if (response.body.kind === "complete") return void res.end(response.body.string);
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  });
}
