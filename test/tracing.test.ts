/**
 * Tracing across the Kafka hop, against a real Zipkin server: one send, made by an HTTP request
 * that carries a `traceparent`, is one trace in Zipkin that spans the API that took it, the
 * worker that applied it (with its SQL) and the other API that delivered it, with the right parents.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AppProcess, waitUntil } from "../scripts/app-process.js";
import { start as startZipkin, stop as stopZipkin } from "../scripts/local-zipkin.js";
import { createRoom, processEnv, signUp, TestSubscription, wsClient } from "./support/harness.js";

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";
  name: string;
  localEndpoint: { serviceName: string };
  tags?: Record<string, string>;
}

const run = randomUUID().slice(0, 8);
const service = { sender: `chat-api-${run}`, worker: `chat-worker-${run}`, deliverer: `chat-api2-${run}` };
let zipkin: Awaited<ReturnType<typeof startZipkin>>;
let processes: AppProcess[] = [];

beforeAll(async () => {
  zipkin = await startZipkin({ log: (line) => console.log(`[zipkin] ${line}`) });
  // Spans leave each process within 200 ms instead of OpenTelemetry's 5 s.
  const env = processEnv("tracing", { OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.spans, OTEL_BSP_SCHEDULE_DELAY: "200" });
  processes = await Promise.all([
    AppProcess.start("worker", { ...env, OTEL_SERVICE_NAME: service.worker }),
    AppProcess.start("api", { ...env, OTEL_SERVICE_NAME: service.sender, LOG_LEVEL: "debug" }),
    AppProcess.start("api", { ...env, OTEL_SERVICE_NAME: service.deliverer }),
  ]);
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  if (zipkin?.started) await stopZipkin();
});

it("one send is one trace: API request, command produce, worker and its SQL, event produce, the other API's delivery", async () => {
  const [, sender, deliverer] = processes as [AppProcess, AppProcess, AppProcess];
  const [alice, bob] = [await signUp(sender.url), await signUp(sender.url)];
  const roomId = await createRoom(sender.url, alice, [bob]);
  const client = wsClient(deliverer.url.replace(/^http/, "ws"), bob.token);
  const subscription = new TestSubscription(client, `subscription($r: ID!) { messageAdded(roomId: $r) { body } }`, {
    r: roomId,
  });
  try {
    // Sent until the subscription shows it (it is live some time after it is sent); the last send's trace is the one.
    let traceId = "";
    let requestSpanId = "";
    for (let attempt = 0; subscription.data.length === 0; attempt++) {
      if (attempt > 40) throw new Error("the subscription never got a message");
      [traceId, requestSpanId] = [randomBytes(16).toString("hex"), randomBytes(8).toString("hex")];
      const response = await fetch(sender.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${alice.token}`,
          traceparent: `00-${traceId}-${requestSpanId}-01`,
        },
        body: JSON.stringify({
          query: `mutation Send($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }`,
          variables: { r: roomId, b: `traced ${attempt}` },
        }),
      });
      expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
      await subscription.waitFor((s) => s.data.length > 0, 500, "the message").catch(() => {});
    }

    let spans: ZipkinSpan[] = [];
    const delivered = (s: ZipkinSpan) => s.localEndpoint.serviceName === service.deliverer && s.kind === "CONSUMER";
    await waitUntil(
      async () => {
        const response = await fetch(`${zipkin.api}/trace/${traceId}`);
        spans = response.ok ? ((await response.json()) as ZipkinSpan[]) : [];
        return (
          spans.some(delivered) &&
          spans.some((s) => s.kind === "PRODUCER" && s.localEndpoint.serviceName === service.worker)
        );
      },
      20_000,
      `trace ${traceId} in Zipkin with the delivery`,
    );

    const one = (what: string, match: (s: ZipkinSpan) => boolean) => {
      const found = spans.filter(match);
      expect(
        found,
        `${what} in ${JSON.stringify(spans.map((s) => [s.localEndpoint.serviceName, s.kind, s.name]))}`,
      ).toHaveLength(1);
      return found[0]!;
    };
    const of = (name: string) => (s: ZipkinSpan) => s.localEndpoint.serviceName === name;
    const request = one("the request", (s) => of(service.sender)(s) && s.kind === "SERVER");
    expect(request.name).toBe("mutation send");
    expect(request.parentId).toBe(requestSpanId);
    expect(request.tags?.["graphql.operation.name"]).toBe("Send");
    const produce = one("the command's produce", (s) => of(service.sender)(s) && s.kind === "PRODUCER");
    expect(produce.parentId).toBe(request.id);
    expect(produce.name).toMatch(/^send .*chat\.commands$/);
    const processing = one("the worker's processing", (s) => of(service.worker)(s) && s.kind === "CONSUMER");
    expect(processing.parentId).toBe(produce.id);
    const chunk = one("the worker's chunk", (s) => of(service.worker)(s) && s.name === "apply commands");
    expect(chunk.parentId).toBe(processing.id);
    const statements = spans.filter((s) => of(service.worker)(s) && s.kind === "CLIENT");
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.parentId).toBe(chunk.id);
      expect(statement.tags?.["db.system.name"]).toBe("postgresql");
    }
    expect(statements.map((s) => s.name)).toContain("insert messages");
    const eventProduce = one("the event's produce", (s) => of(service.worker)(s) && s.kind === "PRODUCER");
    expect(eventProduce.parentId).toBe(chunk.id);
    const delivery = one("the other API's delivery", delivered);
    expect(delivery.parentId).toBe(processing.id);
    expect(delivery.tags?.["chat.subscribers"]).toBe("1");
    // The sender's log lines of this operation carry its trace.
    expect(sender.logs()).toContain(`"trace_id":"${traceId}"`);
  } finally {
    subscription.close();
    await client.dispose();
  }
});
