/**
 * Load-side clients: GraphQL over HTTP with keep-alive, and many graphql-ws subscribers.
 * They run in the benchmark process, separate from the api and worker processes.
 */
import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import WebSocket from "ws";

const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });

/** POSTs one operation; throws on transport errors and GraphQL errors. */
export async function graphql<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const response = await request(url, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.body.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join("; "));
  return result.data as T;
}

export interface Subscriber {
  socket: WebSocket;
  close(): void;
}

/**
 * Opens a graphql-ws connection and one subscription on it, speaking the protocol directly
 * (connection_init, subscribe, next) to keep the client side cheap. Resolves once acked.
 */
export function subscribe(
  wsUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
  onData: (data: any, receivedAt: number) => void,
  localAddress?: string,
): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    // From another loopback address, a fleet gets ports of its own (about 28,000 per address pair).
    const socket = new WebSocket(wsUrl, "graphql-transport-ws", localAddress ? { localAddress } : {});
    socket.once("error", reject);
    socket.once("open", () =>
      socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on("message", (raw) => {
      const receivedAt = performance.now();
      const message = JSON.parse(raw.toString());
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
        resolve({ socket, close: () => socket.terminate() });
      } else if (message.type === "next") {
        onData(message.payload.data, receivedAt);
      } else if (message.type === "error") {
        reject(new Error(JSON.stringify(message.payload)));
      }
    });
  });
}

/** Opens `count` connections `parallel` at a time, reporting progress. */
export async function openMany<T>(
  count: number,
  parallel: number,
  open: (i: number) => Promise<T>,
  progress?: (n: number) => void,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await open(i);
        if (++done % 500 === 0) progress?.(done);
      }
    }),
  );
  return results;
}

/** Calls `fire(i)` at `ratePerSecond` for `seconds` (open loop: it does not wait for answers). */
export async function atRate(ratePerSecond: number, seconds: number, fire: (i: number) => void): Promise<number> {
  const total = Math.round(ratePerSecond * seconds);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerSecond) + 1);
    while (sent < due) fire(sent++);
    await new Promise((r) => setTimeout(r, 2));
  }
  return sent;
}

/** Runs `call` in `concurrency` closed loops for `seconds`; returns completed calls per second. */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  call: (i: number) => Promise<void>,
): Promise<{ perSecond: number; completed: number; failed: number }> {
  const until = performance.now() + seconds * 1000;
  let completed = 0;
  let failed = 0;
  let i = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        try {
          await call(i++);
          completed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  return { perSecond: completed / ((performance.now() - started) / 1000), completed, failed };
}
