/** 1. End-to-end latency: sendMessage -> delivery at every subscriber, at fixed send rates. */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { atRate, graphql, openMany, subscribe, type Subscriber } from "../lib/clients.js";
import { difference, sample } from "../lib/procstat.js";
import { row, type Row } from "../lib/report.js";
import { Chat, createFixture, type Stack } from "../lib/stack.js";
import { distribution, round } from "../lib/stats.js";
import { printBreakdown, StageTracer } from "../lib/stages.js";
import { topicNames } from "../../src/kafka/client.js";

const SEND = `mutation($r: ID!, $b: String!, $c: String) { sendMessage(roomId: $r, body: $b, clientMessageId: $c) { seq } }`;
const SUBSCRIPTION = `subscription($r: ID!) { messageAdded(roomId: $r) { seq clientMessageId } }`;

/** Raw kafkajs produce -> consume round trip on the same broker, at the same rate. */
async function kafkaRoundTrip(stack: Stack, rate: number, seconds: number): Promise<number[]> {
  const kafka = new Kafka({ brokers: [stack.brokers], logLevel: logLevel.NOTHING });
  const topic = `bench-rtt-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 100 });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic, fromBeginning: true });
  const latencies: number[] = [];
  const sentAt = new Map<string, number>();
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const started = sentAt.get(message.key!.toString());
      if (started !== undefined) latencies.push(performance.now() - started);
    },
  });
  while (!joined) await new Promise((r) => setTimeout(r, 50));
  const total = await atRate(rate, seconds, (i) => {
    const key = String(i);
    sentAt.set(key, performance.now());
    void producer.send({ topic, messages: [{ key, value: JSON.stringify({ i, body: "x".repeat(40) }) }] });
  });
  const deadline = Date.now() + 20_000;
  while (latencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await Promise.all([producer.disconnect(), consumer.disconnect()]);
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  return latencies;
}

/** The API's event-loop delay since the last call, from its /metrics (prom-client resets it per scrape). */
async function apiLoopDelay(apiUrl: string) {
  const text = await (await fetch(apiUrl.replace(/\/graphql$/, "/metrics"))).text();
  const seconds = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)`, "m"))?.[1] ?? NaN);
  return {
    p99: round(seconds("nodejs_eventloop_lag_p99_seconds") * 1000, 1),
    max: round(seconds("nodejs_eventloop_lag_max_seconds") * 1000, 1),
  };
}

export async function latencyScenario(
  stack: Stack,
  opts: { rates: number[]; seconds: number; subscribers: number; rooms: number },
  log: (l: string) => void,
): Promise<Row[]> {
  const chat = await Chat.start(Chat.env(stack), { api: true, workers: 1 });
  const subscribers: Subscriber[] = [];
  try {
    const fixture = await createFixture(chat.url, opts.rooms);
    const pending = new Map<string, { started: number; remaining: number }>();
    const latencies: number[] = [];
    let tracer: StageTracer | undefined;
    let lost = 0;
    const perRoom = opts.subscribers / opts.rooms;
    log(`latency: opening ${opts.subscribers} subscriptions over ${opts.rooms} rooms`);
    subscribers.push(
      ...(await openMany(
        opts.subscribers,
        50,
        (i) =>
          subscribe(
            chat.url.replace(/^http/, "ws"),
            fixture.reader.token,
            SUBSCRIPTION,
            { r: fixture.rooms[i % opts.rooms] },
            (data, receivedAt) => {
              const entry = pending.get(data.messageAdded.clientMessageId);
              if (!entry) return;
              latencies.push(receivedAt - entry.started);
              tracer?.delivered(data.messageAdded.clientMessageId);
              if (--entry.remaining === 0) pending.delete(data.messageAdded.clientMessageId);
            },
          ),
        (n) => log(`latency: ${n} subscriptions open`),
      )),
    );
    // Warm up (JIT, connections, consumer positions) before measuring.
    await Promise.all(
      fixture.rooms
        .slice(0, 20)
        .map((r, i) => graphql(chat.url, SEND, { r, b: "warm-up", c: `warm-${i}` }, fixture.sender.token)),
    );
    await new Promise((r) => setTimeout(r, 1000));

    const rows: Row[] = [];
    for (const rate of opts.rates) {
      latencies.length = 0;
      pending.clear();
      tracer = await StageTracer.start(stack.brokers, topicNames(chat.env.KAFKA_TOPIC_PREFIX!).events);
      log(`latency: sending ${rate} msg/s for ${opts.seconds} s to ${opts.subscribers} subscribers`);
      let failures = 0;
      const benchLoop = monitorEventLoopDelay({ resolution: 5 });
      benchLoop.enable();
      await apiLoopDelay(chat.url); // resets the API's histogram
      const cpuBefore = sample(chat.processGroups());
      const sent = await atRate(rate, opts.seconds, (i) => {
        const clientMessageId = `r${rate}-${i}`;
        pending.set(clientMessageId, { started: performance.now(), remaining: perRoom });
        tracer!.sent(clientMessageId);
        graphql(
          chat.url,
          SEND,
          { r: fixture.rooms[i % opts.rooms], b: `message ${i}`, c: clientMessageId },
          fixture.sender.token,
        ).catch(() => failures++);
      });
      benchLoop.disable();
      const loops = {
        loadGenerator: { p99: round(benchLoop.percentile(99) / 1e6, 1), max: round(benchLoop.max / 1e6, 1) },
        api: await apiLoopDelay(chat.url),
      };
      log(
        `latency: event-loop delay p99/max ms: load generator ${loops.loadGenerator.p99}/${loops.loadGenerator.max}, API ${loops.api.p99}/${loops.api.max}`,
      );
      const deadline = Date.now() + 30_000;
      while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      lost = [...pending.values()].reduce((n, p) => n + p.remaining, 0);
      // Includes the stage tracer's consumer on the broker: for comparing runs, not stacks.
      const cpu = Object.fromEntries(
        [...difference(cpuBefore, sample(chat.processGroups()))].map(([name, p]) => [name, round(p.cpuMs / sent, 3)]),
      );
      const cpuTotal = round(
        Object.values(cpu).reduce((a, b) => a + b, 0),
        3,
      );
      log(`latency: CPU-ms per message @${rate} msg/s: ${cpuTotal} (${JSON.stringify(cpu)})`);
      const ours = distribution(latencies);
      const stages = tracer.breakdown();
      await tracer.stop();
      tracer = undefined;
      console.log(printBreakdown(`latency breakdown @${rate} msg/s, ${opts.subscribers} subscribers:`, stages));
      log(`latency: baseline kafkajs round trip at ${rate} msg/s`);
      const base = distribution(await kafkaRoundTrip(stack, rate, opts.seconds));
      const details = {
        sent,
        deliveries: ours.count,
        expectedDeliveries: sent * perRoom,
        undelivered: lost,
        failedSends: failures,
        ours,
        kafkaRoundTrip: base,
        stages,
        eventLoopDelay: loops,
        cpuMsPerMessage: { total: cpuTotal, ...cpu },
      };
      for (const p of ["p50", "p95", "p99", "max"] as const) {
        rows.push(
          row({
            scenario: `1. e2e latency @${rate} msg/s, ${opts.subscribers} subs`,
            figure: p,
            value: round(ours[p], 1),
            unit: "ms",
            baselineName: "kafkajs produce->consume",
            baseline: round(base[p], 1),
            lowerIsBetter: true,
            ...(rate === 500 && p === "p99" ? { target: "<= 100 ms (goal 50)", met: ours.p99 <= 100 } : {}),
            details: p === "p50" ? details : undefined,
          }),
        );
      }
    }
    return rows;
  } finally {
    subscribers.forEach((s) => s.close());
    await chat.stop();
  }
}
