import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { CloseCode, handleProtocols, makeServer, MessageType, type ServerOptions } from "graphql-ws";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import type { Credentials } from "../graphql/context.js";
import { Counts } from "../shared/collections.js";
import type { Logger } from "../shared/logger.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./jsonDepth.js";

/**
 * What graphql-ws hands our hooks as `ctx.extra`. Unlike graphql-ws/use/ws, not the upgrade
 * request: kept for the connection's life, its headers would cost every idle client about 2 KiB.
 */
export interface WsExtra {
  socket: WebSocket;
  /** The client's address (for rate limits). */
  remoteAddress: string;
  /** The signed-in user, once `signedIn` was called. */
  readonly userId: string | null;
  /** What the connection's authorization said (null until connection_init: signed out). */
  credentials: Credentials;
  /** The connection's token was accepted: the limits for sockets without one no longer apply. */
  signedIn(userId: string): void;
}

/** What a socket that has not signed in may send: one message, and all of them together. */
const UNAUTHENTICATED_MESSAGE_BYTES = 8 * 1024;
const UNAUTHENTICATED_TOTAL_BYTES = 64 * 1024;

/** Messages a client may send in a second (a client with 100 rooms resubscribes to all at once). */
const MAX_MESSAGES_PER_SECOND = 300;

/** Above this many unsent bytes a subscription waits for its frame to be written before the next. */
const SEND_HIGH_WATER_MARK = 64 * 1024;

/**
 * graphql-ws on a `ws` server, as graphql-ws/use/ws does it, with changes for fan-out and
 * for the memory an idle connection holds:
 * - Frames sent to a socket in the same turn of the event loop leave in one write. A batch of
 *   events from Kafka reaches a subscriber as a burst of frames, and the system call per write,
 *   not the JSON, was what a delivery cost (CPU profile of the fan-out bench: writev 46% of
 *   the API's time). A send resolves at once while the socket has room, so a subscription's
 *   loop keeps pulling its burst; above the high-water mark it waits for the write as before,
 *   so a subscriber that stops reading still fills its bounded queue and is closed.
 * - Each shared payload is serialized once (sharedPayloads below).
 * - One heartbeat timer for all sockets, no upgrade request kept per connection, and a
 *   connection is one object with listeners shared by all sockets (no closures per socket).
 */
export function serveGraphQLWs(
  options: ServerOptions<Record<string, unknown>, WsExtra>,
  wss: WebSocketServer,
  logger: Logger,
  limits: WsLimits & { keepAliveMs: number },
) {
  const payloads = sharedPayloads();
  const initWait = new InitWait(options.connectionInitWaitTimeout ?? DEFAULT_INIT_WAIT_MS);
  // The init wait is ours (InitWait), not graphql-ws's.
  const server = makeServer({ ...options, connectionInitWaitTimeout: 0, jsonMessageReplacer: payloads.replacer });
  const shared: Shared = {
    payloads,
    corker: new Corker(),
    initWait,
    logger,
    unauthenticated: new Counts(),
    limits,
  };
  const heartbeat = startHeartbeat(wss, limits.keepAliveMs);
  wss.options.handleProtocols = handleProtocols;
  wss.on("connection", (socket, request) => {
    const connection = new Connection(socket, request.socket, limits.clientAddress(request), shared);
    connections.set(socket, connection);
    initWait.add(connection);
    // `on`, not `once`: once wraps each listener in a closure and a bound function per socket.
    socket.on("error", onSocketError);
    socket.on("message", onSocketMessage);
    socket.on("close", onSocketClose);
    connection.closed = server.opened(connection, connection);
  });
  return {
    async dispose() {
      clearInterval(heartbeat);
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners("connection");
    },
  };
}

interface Shared {
  payloads: ReturnType<typeof sharedPayloads>;
  corker: Corker;
  initWait: InitWait;
  logger: Logger;
  /** Sockets not signed in (yet), by address. */
  unauthenticated: Counts<string>;
  limits: WsLimits;
}

export interface WsLimits {
  /** Sockets one client address may hold before they sign in. */
  maxUnauthenticatedPerAddress: number;
  /** The client's address, behind trusted proxies too (the socket's own would be the proxy's). */
  clientAddress(request: IncomingMessage): string;
  /** Counts each limit hit, by limit name. */
  onLimit(limit: string): void;
}

/** "Try Again Later": graphql-ws's client retries it, so a burst of reconnects behind one NAT recovers. */
const TRY_AGAIN_LATER = 1013;

// Listeners shared by all sockets, and their connections by socket: closures per connection
// cost an idle client about half a kilobyte more (sampling heap profile, 5,000 clients).
const connections = new WeakMap<WebSocket, Connection>();

function onSocketMessage(this: WebSocket, data: RawData) {
  heard.add(this);
  connections.get(this)?.receive(data);
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer) {
  const connection = connections.get(this);
  connection?.leaveUnauthenticated();
  connection?.shared.initWait.delete(connection);
  void connection?.closed?.(code, String(reason));
}

function onSocketError(this: WebSocket, error: Error) {
  connections.get(this)?.shared.logger.warn({ err: error }, "websocket error");
  this.close(CloseCode.InternalServerError, "Internal server error");
}

/**
 * One client's connection: graphql-ws's transport (protocol, send, close, onMessage) and the
 * `ctx.extra` our hooks see.
 */
class Connection implements WsExtra {
  /** graphql-ws's handler for the client's messages, set once it accepted the socket. */
  private handle: ((data: string) => Promise<void>) | null = null;
  /** Ends graphql-ws's side of the connection (its subscriptions). */
  closed: ((code?: number, reason?: string) => Promise<void>) | null = null;
  userId: string | null = null;
  credentials: Credentials = null;
  private floodWindowStart = 0;
  private floodCount = 0;
  private flooded = false;
  /** Bytes received before signing in; -1 once signed in (or closed) and no longer counted. */
  private unauthenticatedBytes = 0;

  constructor(
    readonly socket: WebSocket,
    private readonly raw: Socket,
    /** Read when the socket opens: a closed socket no longer knows its peer. */
    readonly remoteAddress: string,
    readonly shared: Shared,
  ) {
    if (shared.unauthenticated.increment(remoteAddress) > shared.limits.maxUnauthenticatedPerAddress) {
      shared.limits.onLimit("unauthenticated_per_address");
      this.refuse(TRY_AGAIN_LATER, "too many connections from this address that have not signed in; retry");
    }
  }

  signedIn(userId: string) {
    this.userId = userId;
    this.leaveUnauthenticated();
  }

  leaveUnauthenticated() {
    if (this.unauthenticatedBytes < 0) return;
    this.unauthenticatedBytes = -1;
    this.shared.unauthenticated.decrement(this.remoteAddress);
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  send(message: string): Promise<void> | void {
    const data = this.shared.payloads.restore(message);
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return;
    this.shared.corker.cork(this.raw);
    if (socket.bufferedAmount < SEND_HIGH_WATER_MARK) return void socket.send(data);
    return new Promise((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  }

  close(code?: number, reason?: string) {
    this.socket.close(code, reason);
  }

  // Not an async listener: the promise of a subscribe message settles only when the
  // subscription ends, and an async listener would keep the frame's buffer (about 400 bytes)
  // alive as long as that.
  onMessage(handle: (data: string) => Promise<void>) {
    this.handle = handle;
  }

  receive(data: RawData) {
    if (!this.handle || this.flooding()) return;
    const text = String(data);
    const problem = this.refusal(text);
    if (problem) return this.refuse(CloseCode.BadRequest, problem);
    const message = parsedMessage(text);
    if (!message) return this.refuse(CloseCode.BadRequest, "Invalid message received");
    if (message.type === MessageType.ConnectionInit) this.shared.initWait.delete(this);
    // graphql-ws takes the parsed message as well as its text (its parseMessage parses only
    // strings), and its handler of a subscribe message keeps what it was given for the
    // subscription's life: the object, which it keeps anyway, rather than the text too.
    this.handle(message as string).catch((error: unknown) => {
      this.shared.logger.error({ err: error }, "graphql-ws message handling failed");
      this.socket.close(CloseCode.InternalServerError, "Internal server error");
    });
  }

  /** Why a message is refused before graphql-ws parses it, or null. */
  private refusal(text: string): string | null {
    if (this.unauthenticatedBytes >= 0) {
      if (text.length > UNAUTHENTICATED_MESSAGE_BYTES)
        return `a message larger than ${UNAUTHENTICATED_MESSAGE_BYTES} bytes before signing in`;
      this.unauthenticatedBytes += text.length;
      if (this.unauthenticatedBytes > UNAUTHENTICATED_TOTAL_BYTES)
        return `more than ${UNAUTHENTICATED_TOTAL_BYTES} bytes before signing in`;
    }
    if (nestsDeeperThan(text)) return `a message nesting deeper than ${MAX_JSON_DEPTH} levels`;
    return null;
  }

  /** Closes the socket and ignores what it sends meanwhile. */
  private refuse(code: number, reason: string) {
    this.flooded = true;
    this.socket.close(code, reason);
  }

  /**
   * More than MAX_MESSAGES_PER_SECOND messages in a second closes the socket (4429) and drops
   * what it sent after: a burst of thousands of subscribe messages would otherwise hold the
   * event loop for everyone (about 60 µs of work each, even to refuse them).
   */
  private flooding(): boolean {
    const { socket } = this;
    if (this.flooded || socket.readyState !== socket.OPEN) return true;
    const now = Date.now();
    if (now - this.floodWindowStart >= 1000) {
      this.floodWindowStart = now;
      this.floodCount = 0;
    }
    if (++this.floodCount <= MAX_MESSAGES_PER_SECOND) return false;
    this.flooded = true;
    // Closed after this turn of the event loop, so that the answers to the messages already
    // taken (a refused subscription's error among them) still reach the client first: one TCP
    // read can hold hundreds of frames, all handled before any answer is sent.
    setImmediate(() =>
      socket.close(
        CloseCode.TooManyInitialisationRequests,
        `more than ${MAX_MESSAGES_PER_SECOND} messages in a second`,
      ),
    );
    return true;
  }
}

/** A message's JSON object, or null (graphql-ws would parse a JSON string's content again). */
function parsedMessage(text: string): { type?: unknown } | null {
  try {
    const message: unknown = JSON.parse(text);
    return typeof message === "object" && message !== null && !Array.isArray(message) ? message : null;
  } catch {
    return null;
  }
}

/** graphql-ws's default wait for connection_init. */
const DEFAULT_INIT_WAIT_MS = 3_000;
const INIT_WAIT_CHECK_MS = 250;

/**
 * Closes a socket that has not sent connection_init within the wait (4408, as graphql-ws
 * would), with one timer for all sockets and only while some are waiting: graphql-ws's own
 * wait is a timer and a closure per socket, kept for the socket's whole life.
 */
class InitWait {
  /** Sockets yet to send connection_init, oldest first, with their deadlines. */
  private readonly waiting = new Map<Connection, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly waitMs: number) {}

  add(connection: Connection) {
    if (!(this.waitMs > 0 && Number.isFinite(this.waitMs))) return;
    this.waiting.set(connection, Date.now() + this.waitMs);
    this.timer ??= setInterval(() => this.closeLate(), INIT_WAIT_CHECK_MS).unref();
  }

  delete(connection: Connection) {
    this.waiting.delete(connection);
  }

  private closeLate() {
    const now = Date.now();
    for (const [connection, deadline] of this.waiting) {
      if (deadline > now) break; // the rest came later
      this.waiting.delete(connection);
      connection.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
    }
    if (this.waiting.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Sockets written to in this turn of the event loop: their frames leave in one write each, at its end. */
class Corker {
  private readonly corked = new Set<Socket>();

  cork(socket: Socket) {
    if (this.corked.has(socket)) return;
    if (this.corked.size === 0) setImmediate(() => this.flush());
    socket.cork();
    this.corked.add(socket);
  }

  private flush() {
    for (const socket of this.corked) socket.uncork();
    this.corked.clear();
  }
}

/** Sockets that sent anything (a message or a pong) since the heartbeat last looked. */
const heard = new WeakSet<WebSocket>();

/**
 * Every `intervalMs`, pings each socket that has sent nothing since the last round; one that
 * has not answered the previous ping either is dropped. A client that talks (the web client's
 * graphql-ws pings every 5 s) is never pinged: with thousands of silent clients the pings were
 * most of an idle API's CPU (19,000 clients, 12 s: 44 CPU-ms/s). One timer for all sockets.
 */
function startHeartbeat(wss: WebSocketServer, intervalMs: number) {
  const awaiting = new WeakSet<WebSocket>();
  function onPong(this: WebSocket) {
    heard.add(this);
  }
  wss.on("connection", (socket) => {
    heard.add(socket);
    socket.on("pong", onPong);
  });
  return setInterval(() => {
    for (const socket of wss.clients) {
      if (heard.delete(socket)) awaiting.delete(socket);
      else if (awaiting.has(socket)) socket.terminate();
      else if (socket.readyState === socket.OPEN) {
        awaiting.add(socket);
        socket.ping();
      }
    }
  }, intervalMs).unref();
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
