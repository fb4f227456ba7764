import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";
import type { Logger } from "../logger.js";

/** What graphql-ws hands our hooks as `ctx.extra`, as graphql-ws/use/ws does. */
export interface WsExtra {
  socket: WebSocket;
  request: IncomingMessage;
}

/** Above this many unsent bytes a subscription waits for its frame to be written before the next. */
const SEND_HIGH_WATER_MARK = 64 * 1024;

/**
 * graphql-ws on a `ws` server, as graphql-ws/use/ws does it, with one change that matters
 * for fan-out: frames sent to a socket in the same turn of the event loop leave in one write.
 * A batch of events from Kafka reaches a subscriber as a burst of frames; the system call per
 * write, not the JSON, is what a delivery costs (CPU profile of the fan-out bench: writev was
 * 46% of the API's time, stringify 6%). A send resolves at once while the socket has room, so
 * a subscription's loop keeps pulling its burst; above the high-water mark it waits for the
 * write as before, so a subscriber that stops reading still fills its bounded queue and is closed.
 */
export function serveGraphQLWs(
  options: ServerOptions<Record<string, unknown>, WsExtra>,
  wss: WebSocketServer,
  logger: Logger,
  keepAliveMs = 12_000,
) {
  const payloads = sharedPayloads();
  const server = makeServer({ ...options, jsonMessageReplacer: payloads.replacer });
  wss.options.handleProtocols = handleProtocols;
  wss.on("connection", (socket, request) => {
    socket.once("error", (error) => {
      logger.warn({ err: error }, "websocket error");
      socket.close(CloseCode.InternalServerError, "Internal server error");
    });
    const stopKeepAlive = keepAlive(socket, keepAliveMs);
    const send = coalescingSender(socket, request.socket, payloads.restore);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              logger.error({ err: error }, "graphql-ws message handling failed");
              socket.close(CloseCode.InternalServerError, "Internal server error");
            }
          }),
      },
      { socket, request },
    );
    socket.once("close", (code, reason) => {
      stopKeepAlive();
      void closed(code, String(reason));
    });
  });
  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners("connection");
    },
  };
}

function coalescingSender(socket: WebSocket, raw: Socket, restore: (data: string) => string) {
  let corked = false;
  const flush = () => {
    corked = false;
    raw.uncork();
  };
  return (message: string): Promise<void> | void => {
    const data = restore(message);
    if (socket.readyState !== socket.OPEN) return;
    if (!corked) {
      corked = true;
      raw.cork();
      setImmediate(flush);
    }
    if (socket.bufferedAmount < SEND_HIGH_WATER_MARK) return void socket.send(data);
    return new Promise((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  };
}

/**
 * One JSON serialization per event and selection, not per subscriber. Subscribers sharing an
 * execution result (see sharedExecution.ts) share its `data` object; graphql-ws stringifies
 * each `next` message whole, so the replacer stands a placeholder in for a payload of shared
 * data, and `restore`, called synchronously with the stringified message (graphql-ws calls
 * `send(stringifyMessage(...))`), puts the payload's cached JSON in its place.
 */
function sharedPayloads() {
  const json = new WeakMap<object, string>();
  let pending: string | undefined;
  return {
    replacer(this: unknown, key: string, value: unknown) {
      if (key !== "payload" || !isDataOnly(value)) return value;
      let payload = json.get(value.data);
      if (payload === undefined) json.set(value.data, (payload = JSON.stringify(value)));
      pending = payload;
      return PAYLOAD_PLACEHOLDER;
    },
    restore(message: string): string {
      if (pending === undefined) return message;
      const payload = pending;
      pending = undefined;
      if (!message.endsWith(PLACEHOLDER_TAIL))
        throw new Error("graphql-ws message without the payload placeholder last");
      return `${message.slice(0, -PLACEHOLDER_TAIL.length)}"payload":${payload}}`;
    },
  };
}

const PAYLOAD_PLACEHOLDER = "\u0000shared-payload";
const PLACEHOLDER_TAIL = `"payload":${JSON.stringify(PAYLOAD_PLACEHOLDER)}}`;

function isDataOnly(value: unknown): value is { data: object } {
  if (typeof value !== "object" || value === null) return false;
  const keys = Object.keys(value);
  const data = (value as { data?: unknown }).data;
  return keys.length === 1 && keys[0] === "data" && typeof data === "object" && data !== null;
}

/** Pings every `intervalMs`; a socket that does not answer within the next interval is dropped. */
function keepAlive(socket: WebSocket, intervalMs: number) {
  let pongWait: NodeJS.Timeout | undefined;
  const interval = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    pongWait = setTimeout(() => socket.terminate(), intervalMs);
    socket.once("pong", () => clearTimeout(pongWait));
    socket.ping();
  }, intervalMs);
  return () => {
    clearInterval(interval);
    clearTimeout(pongWait);
  };
}
