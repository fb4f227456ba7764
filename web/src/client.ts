import { Client, fetchExchange, subscriptionExchange, type TypedDocumentNode } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";
import { createClient as createWsClient, type Client as WsClient, type SubscribePayload } from "graphql-ws";

/** The SHA-256 codegen gave a document (web/src/gql/persisted-documents.json), without its `sha256:`. */
const hashOf = (document: TypedDocumentNode<unknown, never>) =>
  (document as { __meta__?: { hash?: string } }).__meta__?.hash?.replace(/^sha256:/, "");

/**
 * Operations go by hash, as the server's trusted documents (a server with
 * TRUSTED_DOCUMENTS=only serves nothing else); urql sends the text only if the server
 * answers PERSISTED_QUERY_NOT_FOUND (an older server).
 */
export const byHash = () =>
  persistedExchange({
    preferGetForPersistedQueries: false,
    enableForMutation: true,
    enableForSubscriptions: true,
    generateHash: async (_query, document) => hashOf(document),
  });

/** A graphql-ws subscribe payload that names its document by hash. */
export function trustedPayload<Variables>(
  document: TypedDocumentNode<unknown, Variables>,
  variables: Variables,
): SubscribePayload {
  const sha256Hash = hashOf(document as TypedDocumentNode<unknown, never>);
  return {
    query: "",
    variables: variables as Record<string, unknown>,
    extensions: { persistedQuery: { version: 1, sha256Hash } },
  };
}

const TOKEN_KEY = "chat.token";
export const getToken = () => localStorage.getItem(TOKEN_KEY);
export const setToken = (token: string | null) =>
  token ? localStorage.setItem(TOKEN_KEY, token) : localStorage.removeItem(TOKEN_KEY);

export interface Connection {
  urql: Client;
  ws: WsClient;
  /** Called after every reconnect (not the first connect): streams resume from where they were. */
  onReconnect(listener: () => void): () => void;
  /**
   * Keeps a subscription open across drops: `start` subscribes (with where it got to, read
   * when it is called) and returns its stop; it is stopped when the socket closes and started
   * again after each reconnect (graphql-ws would resend the first variables instead), or
   * on `restart`.
   */
  resumable(start: () => () => void): { restart(): void; stop(): void };
  dispose(): void;
}

/**
 * One urql client (HTTP for queries and mutations, graphql-ws for subscriptions) per signed-in
 * session. The socket is dropped at once when the browser goes offline and retried forever;
 * a ping unanswered for 4 s counts as a drop too (a half-open connection sends nothing).
 */
export function connect(token: string): Connection {
  const url = new URL("/graphql", location.href);
  const wsUrl = url.href.replace(/^http/, "ws");
  const reconnectListeners = new Set<() => void>();
  let connectedBefore = false;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: { authorization: `Bearer ${token}` },
    keepAlive: 5000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 500)),
    on: {
      connected: () => {
        if (connectedBefore) reconnectListeners.forEach((listener) => listener());
        connectedBefore = true;
      },
      ping: (received) => {
        if (!received) pongTimer = setTimeout(() => ws.terminate(), 4000);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });
  const goneOffline = () => ws.terminate();
  window.addEventListener("offline", goneOffline);
  const urql = new Client({
    url: url.href,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    // Every query goes to the server: with cache-first, urql would hand a re-run query its
    // last result instead.
    requestPolicy: "network-only",
    // POST with a JSON body: Apollo Server's CSRF prevention refuses simple GET requests.
    preferGetMethod: false,
    // No document cache: it re-runs every open query after each mutation (Me and Rooms on
    // every message sent) and a re-run that fails while offline would blank the screen. The
    // screens keep themselves current from the feed and re-read after a reconnect.
    exchanges: [
      byHash(),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
    ],
  });
  return {
    urql,
    ws,
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    resumable(start) {
      let stop = start();
      const restart = () => {
        stop();
        stop = start();
      };
      reconnectListeners.add(restart);
      const offClosed = ws.on("closed", () => {
        stop();
        stop = () => {};
      });
      return {
        restart,
        stop() {
          stop();
          reconnectListeners.delete(restart);
          offClosed();
        },
      };
    },
    dispose() {
      window.removeEventListener("offline", goneOffline);
      void ws.dispose();
    },
  };
}
