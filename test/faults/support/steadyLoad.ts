/**
 * Steady load through a fault: senders that each send one message, wait for its answer and go
 * on at a fixed pace, retrying a failed call with the same clientMessageId like a careful client;
 * every attempt is recorded with its timing, so the figures say how long sends failed or
 * stalled, and how the fault looked to a client.
 */
import { trySend, type Acknowledged, type ResumingSubscriber, type StreamResult, type StreamRoom } from "./stream.js";

export interface Attempt {
  startedAt: number;
  endedAt: number;
  /** Null when the call was answered with the message; else the error code. */
  error: string | null;
  message?: string;
}

export class SteadyLoad {
  readonly attempts: Attempt[] = [];
  readonly acknowledged = new Map<string, Acknowledged>();
  private stopped = false;
  private readonly senders: Promise<void>[] = [];

  constructor(
    private readonly urls: () => string[],
    private readonly rooms: StreamRoom[],
    private readonly options: { senders: number; intervalMs: number; prefix: string },
  ) {}

  start(): void {
    for (let s = 0; s < this.options.senders; s++) this.senders.push(this.run(s));
  }

  /** Stops sending; resolves once every sender's last message is acknowledged. */
  async stop(): Promise<StreamResult> {
    this.stopped = true;
    await Promise.all(this.senders);
    const failures: Record<string, number> = {};
    for (const a of this.attempts) if (a.error) failures[a.error] = (failures[a.error] ?? 0) + 1;
    return { sent: this.acknowledged.size, acknowledged: this.acknowledged, failures };
  }

  private async run(sender: number) {
    for (let n = 0; !this.stopped; n++) {
      const began = Date.now();
      await this.sendOne(sender, n);
      const pause = this.options.intervalMs - (Date.now() - began);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  }

  private async sendOne(sender: number, n: number) {
    const room = this.rooms[(sender + n * this.options.senders) % this.rooms.length]!; // every room has traffic
    const user = room.members[n % room.members.length]!;
    const clientMessageId = `${this.options.prefix}-${sender}-${n}`;
    for (let attempt = 0; ; attempt++) {
      const urls = this.urls();
      const startedAt = Date.now();
      const result = await trySend(
        urls[(sender + attempt) % urls.length]!,
        room,
        user,
        `message ${clientMessageId}`,
        clientMessageId,
      );
      if ("acknowledged" in result) {
        this.attempts.push({ startedAt, endedAt: Date.now(), error: null });
        this.acknowledged.set(clientMessageId, result.acknowledged);
        return;
      }
      this.attempts.push({ startedAt, endedAt: Date.now(), error: result.code, message: result.message });
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000))); // client backoff
    }
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
};

const longestGap = (times: number[], from: number, to: number) => {
  const points = [from, ...times.filter((t) => t > from && t < to).sort((a, b) => a - b), to];
  return Math.max(...points.slice(1).map((t, i) => t - points[i]!));
};

/** Overlapping calls' [start, end] merged into the spans they cover. */
function disruptions(calls: Attempt[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const { startedAt, endedAt } of [...calls].sort((a, b) => a.startedAt - b.startedAt)) {
    const last = spans.at(-1);
    if (last && startedAt <= last[1]) last[1] = Math.max(last[1], endedAt);
    else spans.push([startedAt, endedAt]);
  }
  return spans;
}

/**
 * What a fault that began at `faultAt` and whose repairs ended at `repairedAt` cost:
 * - `disruptedMs`: the longest span covered without a break by calls that failed or took over
 *   `stallMs` (0 when none did), and `disruptions`: each such span as [start after the fault, length];
 * - `ackGapMs`: the longest time in which no send was acknowledged, from the fault on;
 * - `deliveryGapMs`: the longest time any subscriber received nothing, from the fault on;
 * - `failedCalls`, `slowestCallMs`, and call p99 inside the disruption and outside it.
 */
export function faultFigures(
  load: SteadyLoad,
  subscribers: ResumingSubscriber[],
  faultAt: number,
  options: { stallMs: number; endedAt: number },
) {
  const { attempts } = load;
  const durations = (list: Attempt[]) => list.map((a) => a.endedAt - a.startedAt);
  const bad = attempts.filter((a) => a.error !== null || a.endedAt - a.startedAt > options.stallMs);
  const spans = disruptions(bad);
  const inside = attempts.filter((a) => spans.some(([from, to]) => a.endedAt >= from && a.startedAt <= to));
  const outside = attempts.filter((a) => !inside.includes(a));
  const acks = attempts.filter((a) => a.error === null).map((a) => a.endedAt);
  return {
    disruptedMs: Math.max(0, ...spans.map(([from, to]) => to - from)),
    disruptions: spans.map(([from, to]) => [from - faultAt, to - from]),
    ackGapMs: longestGap(acks, faultAt, options.endedAt),
    deliveryGapMs: Math.max(...subscribers.map((s) => longestGap(s.deliveredAt, faultAt, options.endedAt))),
    failedCalls: attempts.filter((a) => a.error !== null).length,
    firstFailure: attempts.find((a) => a.error !== null)?.message ?? "",
    slowestCallMs: Math.max(...durations(attempts)),
    slowestAnsweredCallMs: Math.max(...durations(attempts.filter((a) => a.error === null))),
    callP99InsideMs: percentile(durations(inside), 99),
    callP99OutsideMs: percentile(durations(outside), 99),
  };
}
