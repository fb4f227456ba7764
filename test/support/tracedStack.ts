/**
 * A worker and two API processes exporting traces to a local Zipkin (started unless one
 * answers), and a send whose trace is known: what the tracing test checks and the browser
 * test pictures.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { AppProcess, waitUntil } from "../../scripts/app-process.js";
import { start as startZipkin, stop as stopZipkin } from "../../scripts/local-zipkin.js";
import { createRoom, processEnv, signUp, TestSubscription, wsClient } from "./harness.js";

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";
  name: string;
  localEndpoint: { serviceName: string };
  tags?: Record<string, string>;
}

export type TracedStack = Awaited<ReturnType<typeof startTracedStack>>;

export async function startTracedStack() {
  const zipkin = await startZipkin({ log: (line) => console.log(`[zipkin] ${line}`) });
  const run = randomUUID().slice(0, 8);
  const services = { sender: `chat-api-${run}`, worker: `chat-worker-${run}`, deliverer: `chat-api2-${run}` };
  // Spans leave each process within 200 ms instead of OpenTelemetry's 5 s.
  const env = processEnv("tracing", { OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.spans, OTEL_BSP_SCHEDULE_DELAY: "200" });
  const [worker, sender, deliverer] = await Promise.all([
    AppProcess.start("worker", { ...env, OTEL_SERVICE_NAME: services.worker }),
    AppProcess.start("api", { ...env, OTEL_SERVICE_NAME: services.sender, LOG_LEVEL: "debug" }),
    AppProcess.start("api", { ...env, OTEL_SERVICE_NAME: services.deliverer }),
  ]);
  return {
    zipkin,
    services,
    worker,
    sender,
    deliverer,
    /** Sends from `sender` to a subscriber on `deliverer` until it arrives; the delivered send's trace, once Zipkin has it whole. */
    sendTraced: () => sendTraced(sender, deliverer, zipkin.api, services),
    async stop() {
      await Promise.all([worker, sender, deliverer].map((p) => p.stop()));
      if (zipkin.started) await stopZipkin();
    },
  };
}

async function sendTraced(
  sender: AppProcess,
  deliverer: AppProcess,
  zipkinApi: string,
  services: { worker: string; deliverer: string },
) {
  const [alice, bob] = [await signUp(sender.url), await signUp(sender.url)];
  const roomId = await createRoom(sender.url, alice, [bob]);
  const client = wsClient(deliverer.url.replace(/^http/, "ws"), bob.token);
  const subscription = new TestSubscription(client, `subscription($r: ID!) { messageAdded(roomId: $r) { body } }`, {
    r: roomId,
  });
  let traceId = "";
  let requestSpanId = "";
  try {
    // The last send's trace is the one delivered.
    await subscription.sendUntilReceived(async (attempt) => {
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
      const result = (await response.json()) as { errors?: unknown };
      if (result.errors) throw new Error(`the send failed: ${JSON.stringify(result.errors)}`);
    });
  } finally {
    subscription.close();
    await client.dispose();
  }
  let spans: ZipkinSpan[] = [];
  const has = (service: string, kind: ZipkinSpan["kind"]) =>
    spans.some((s) => s.localEndpoint.serviceName === service && s.kind === kind);
  await waitUntil(
    async () => {
      const response = await fetch(`${zipkinApi}/trace/${traceId}`);
      spans = response.ok ? ((await response.json()) as ZipkinSpan[]) : [];
      return has(services.deliverer, "CONSUMER") && has(services.worker, "PRODUCER");
    },
    20_000,
    `trace ${traceId} in Zipkin with its delivery`,
  );
  return { traceId, requestSpanId, spans };
}
