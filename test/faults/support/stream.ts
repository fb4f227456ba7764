/**
 * The fault scenarios' common parts: a stream of sendMessage calls that retries like a
 * careful client (same clientMessageId), subscribers that resume with afterSeq after any
 * disconnect, and the checks that nothing was lost or doubled.
 */
import { createClient, type Client } from "graphql-ws";
import type postgres from "postgres";
import WebSocket from "ws";
import { createRoom, gql, signUp, type TestUser } from "../../support/harness.js";

export interface StreamRoom {
  id: string;
  members: TestUser[];
}

/** Users and rooms for a scenario: `count` rooms of two friends each. */
export async function createRooms(url: string, count: number): Promise<StreamRoom[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const [a, b] = await Promise.all([signUp(url), signUp(url)]);
      return { id: await createRoom(url, a!, [b!], `stream ${i}`), members: [a!, b!] };
    }),
  );
}

export interface Acknowledged {
  roomId: string;
  id: string;
  seq: number;
}

export interface StreamResult {
  sent: number;
  acknowledged: Map<string, Acknowledged>;
  /** Failed attempts by error code (retried with the same clientMessageId). */
  failures: Record<string, number>;
}

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { id seq roomId } }`;

/** One sendMessage call: the message as acknowledged, or the error code (and message) it failed with. */
export async function trySend(
  url: string,
  room: StreamRoom,
  sender: TestUser,
  body: string,
  clientMessageId: string,
): Promise<{ acknowledged: Acknowledged } | { code: string; message?: string }> {
  try {
    const result = await gql(url, SEND, { r: room.id, b: body, c: clientMessageId }, sender.token);
    const message = result.data?.sendMessage;
    if (message) return { acknowledged: { roomId: room.id, id: message.id, seq: message.seq } };
    return { code: String(result.errors?.[0]?.extensions?.code ?? "UNKNOWN"), message: result.errors?.[0]?.message };
  } catch {
    return { code: "CONNECTION_FAILED" };
  }
}

/**
 * Sends `total` messages round-robin over the rooms, `concurrency` at a time, against the
 * given API URLs. A failed call (error, timeout, connection refused) is retried with the same
 * clientMessageId on the next URL until it succeeds or `deadlineMs` passes.
 */
export async function sendStream(options: {
  urls: () => string[];
  rooms: StreamRoom[];
  total: number;
  concurrency: number;
  onAcknowledged?: (count: number) => void | Promise<void>;
  deadlineMs?: number;
  prefix?: string;
  /** Characters per message body (at least the "message N" label). */
  bodyLength?: number;
}): Promise<StreamResult> {
  const acknowledged = new Map<string, Acknowledged>();
  const failures: Record<string, number> = {};
  const deadline = Date.now() + (options.deadlineMs ?? 150_000);
  let next = 0;

  async function sendOne(i: number) {
    const room = options.rooms[i % options.rooms.length]!;
    const sender = room.members[i % room.members.length]!;
    const clientMessageId = `${options.prefix ?? "m"}-${i}`;
    for (let attempt = 0; ; attempt++) {
      const urls = options.urls();
      const body = `message ${i} `.padEnd(options.bodyLength ?? 0, "x");
      const result = await trySend(urls[(i + attempt) % urls.length]!, room, sender, body, clientMessageId);
      if ("acknowledged" in result) {
        acknowledged.set(clientMessageId, result.acknowledged);
        await options.onAcknowledged?.(acknowledged.size);
        return;
      }
      const { code } = result;
      failures[code] = (failures[code] ?? 0) + 1;
      if (Date.now() > deadline) throw new Error(`message ${clientMessageId} still failing (${code}) at the deadline`);
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000))); // client backoff
    }
  }

  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.total) await sendOne(next++);
    }),
  );
  return { sent: options.total, acknowledged, failures };
}

/**
 * A subscriber that resumes: after any close or error it subscribes again, to the next
 * API URL, with afterSeq set to the last seq it has. Records every delivery it gets.
 */
export class ResumingSubscriber {
  readonly seqs: number[] = [];
  /** When each new seq arrived (ms since the epoch), for the longest gap in deliveries. */
  readonly deliveredAt: number[] = [];
  duplicates = 0;
  reconnects = 0;
  private client: Client | null = null;
  private stopped = false;
  private urlIndex: number;

  constructor(
    private readonly urls: () => string[],
    private readonly user: TestUser,
    readonly roomId: string,
    firstUrl = 0,
  ) {
    this.urlIndex = firstUrl;
  }

  get lastSeq(): number {
    return this.seqs.length ? Math.max(...this.seqs) : 0;
  }

  start(): void {
    if (this.stopped) return;
    const urls = this.urls();
    const url = urls[this.urlIndex % urls.length]!.replace(/^http/, "ws");
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${this.user.token}` },
      onNonLazyError: () => {},
    });
    this.client = client;
    const resume = () => {
      if (this.stopped || this.client !== client) return;
      this.reconnects++;
      this.urlIndex++;
      void client.dispose();
      setTimeout(() => this.start(), 250);
    };
    client.subscribe<{ messageAdded: { seq: number } }>(
      {
        query: `subscription($r: ID!, $a: Int) { messageAdded(roomId: $r, afterSeq: $a) { seq } }`,
        variables: { r: this.roomId, a: this.lastSeq },
      },
      {
        next: (result) => {
          const seq = result.data?.messageAdded.seq;
          if (seq === undefined) return resume();
          if (this.seqs.includes(seq)) this.duplicates++;
          else {
            this.seqs.push(seq);
            this.deliveredAt.push(Date.now());
          }
        },
        error: resume,
        complete: resume,
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.dispose();
  }
}

export interface StoredCheck {
  stored: number;
  perRoom: Map<string, number>;
}

/**
 * Every acknowledged message is stored exactly once with the seq it was acknowledged with,
 * each room's seqs are 1..N without gaps, and nothing unacknowledged was stored.
 */
export async function checkStored(db: postgres.Sql, rooms: StreamRoom[], result: StreamResult): Promise<StoredCheck> {
  const perRoom = new Map<string, number>();
  let stored = 0;
  for (const room of rooms) {
    const rows = await db<{ id: string; seq: number; client_message_id: string | null }[]>`
      select id, seq, client_message_id from messages where room_id = ${room.id} order by seq`;
    const seqs = rows.map((r) => r.seq);
    const expected = Array.from({ length: rows.length }, (_, i) => i + 1);
    if (JSON.stringify(seqs) !== JSON.stringify(expected))
      throw new Error(`room ${room.id}: seqs are not 1..${rows.length}: ${seqs.join(",")}`);
    const ackedHere = [...result.acknowledged.entries()].filter(([, a]) => a.roomId === room.id);
    for (const [clientMessageId, ack] of ackedHere) {
      const matches = rows.filter((r) => r.client_message_id === clientMessageId);
      if (matches.length !== 1 || matches[0]!.id !== ack.id || matches[0]!.seq !== ack.seq) {
        throw new Error(`room ${room.id}: ${clientMessageId} stored ${matches.length} times or not as acknowledged`);
      }
    }
    if (rows.length !== ackedHere.length)
      throw new Error(`room ${room.id}: ${rows.length} stored but ${ackedHere.length} acknowledged`);
    perRoom.set(room.id, rows.length);
    stored += rows.length;
  }
  return { stored, perRoom };
}

/** Waits until every subscriber holds exactly its room's seqs 1..N. */
export async function waitForDeliveries(
  subscribers: ResumingSubscriber[],
  perRoom: Map<string, number>,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  const complete = (s: ResumingSubscriber) => s.seqs.length >= (perRoom.get(s.roomId) ?? 0);
  while (!subscribers.every(complete)) {
    if (Date.now() > deadline) {
      const missing = subscribers
        .filter((s) => !complete(s))
        .map((s) => `${s.roomId}: ${s.seqs.length}/${perRoom.get(s.roomId)}`);
      throw new Error(`subscribers still missing messages: ${missing.join("; ")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const s of subscribers) {
    const sorted = [...s.seqs].sort((a, b) => a - b);
    const expected = Array.from({ length: perRoom.get(s.roomId) ?? 0 }, (_, i) => i + 1);
    if (JSON.stringify(sorted) !== JSON.stringify(expected))
      throw new Error(`subscriber of ${s.roomId} got ${sorted.join(",")}`);
  }
  return {
    delivered: subscribers.reduce((n, s) => n + s.seqs.length, 0),
    duplicates: subscribers.reduce((n, s) => n + s.duplicates, 0),
    reconnects: subscribers.reduce((n, s) => n + s.reconnects, 0),
  };
}

/** One line of figures per scenario, for the report. */
export function report(name: string, figures: Record<string, unknown>): void {
  console.log(
    `[fault] ${name}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
      .join(" ")}`,
  );
}

/**
 * The common shape of a fault scenario: `total` messages over `rooms` rooms, each room
 * followed by resuming subscribers (one per entry of `subscribersOn`, an index into the
 * API list), `fault` injected once a third is acknowledged; then every acknowledged
 * message must be stored exactly once and delivered to every subscriber exactly once.
 */
export async function streamThroughFault<F extends Record<string, unknown> = Record<never, never>>(options: {
  name: string;
  urls: () => string[];
  db: postgres.Sql;
  rooms: number;
  total: number;
  subscribersOn?: number[];
  fault: (rooms: StreamRoom[]) => Promise<void>;
  /** Adjusts what counts as acknowledged before the checks (e.g. a call whose fate was unknown). */
  beforeCheck?: (result: StreamResult, rooms: StreamRoom[]) => Promise<void>;
  figures?: () => Promise<F>;
}) {
  const rooms = await createRooms(options.urls()[0]!, options.rooms);
  const subscribers = rooms.flatMap((room) =>
    (options.subscribersOn ?? [0]).map((api) => new ResumingSubscriber(options.urls, room.members[1]!, room.id, api)),
  );
  subscribers.forEach((s) => s.start());
  try {
    let faulted: Promise<void> | null = null;
    const result = await sendStream({
      urls: options.urls,
      rooms,
      total: options.total,
      concurrency: 8,
      onAcknowledged: (count) => {
        if (count === Math.floor(options.total / 3)) faulted = options.fault(rooms);
      },
    });
    if (!faulted) throw new Error("the fault was never injected");
    await faulted;
    await options.beforeCheck?.(result, rooms);
    const stored = await checkStored(options.db, rooms, result);
    const delivery = await waitForDeliveries(subscribers, stored.perRoom, 90_000);
    const figures = {
      sent: result.sent,
      acknowledged: result.acknowledged.size,
      stored: stored.stored,
      ...delivery,
      ...((await options.figures?.()) as F),
      failedAttempts: result.failures,
    };
    report(options.name, figures);
    if (delivery.duplicates !== 0) throw new Error(`${delivery.duplicates} duplicate deliveries`);
    return { ...figures, subscribers: subscribers.length };
  } finally {
    await Promise.all(subscribers.map((s) => s.stop()));
  }
}
