export type Heartbeat = () => Promise<void>;

/**
 * Group commit: chunks handed in during one event-loop turn (the batches of several
 * partitions from one fetch) are applied together, up to `limit` records, so they share one
 * transaction and one produce request. Partitions hold different rooms, so putting their
 * chunks side by side changes no room's order; each caller still waits for its own chunk.
 */
export function groupCommit<R>(limit: number, apply: (records: R[], heartbeat: Heartbeat) => Promise<void>) {
  const waiting: Array<{ records: R[]; heartbeat: Heartbeat; settle: (error?: unknown) => void }> = [];
  function flush() {
    const group = [waiting.shift()!];
    let size = group[0]!.records.length;
    while (waiting.length > 0 && size + waiting[0]!.records.length <= limit) {
      size += waiting[0]!.records.length;
      group.push(waiting.shift()!);
    }
    if (waiting.length > 0) setImmediate(flush);
    apply(
      group.flatMap((item) => item.records),
      group[0]!.heartbeat, // a consumer-wide heartbeat: any caller's will do
    ).then(
      () => group.forEach((item) => item.settle()),
      (error: unknown) => group.forEach((item) => item.settle(error ?? new Error("batch failed"))),
    );
  }
  return (records: R[], heartbeat: Heartbeat) =>
    new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
      if (waiting.push({ records, heartbeat, settle }) === 1) setImmediate(flush);
    });
}
