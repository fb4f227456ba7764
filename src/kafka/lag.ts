import type { Admin } from "kafkajs";

export interface GroupLag {
  groupId: string;
  topic: string;
  /** End offsets minus committed offsets, summed over partitions. */
  lag: number;
}

/** How far each consumer group is behind the end of its topic. */
export async function consumerLag(
  admin: Admin,
  groups: Array<{ groupId: string; topic: string }>,
): Promise<GroupLag[]> {
  return Promise.all(
    groups.map(async ({ groupId, topic }) => {
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      let lag = 0;
      for (const end of ends) {
        const done = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
        // -1: nothing committed yet, so everything from the low watermark is still to do.
        const from = done === "-1" ? Number(end.low) : Number(done);
        lag += Math.max(0, Number(end.high) - from);
      }
      return { groupId, topic, lag };
    }),
  );
}
