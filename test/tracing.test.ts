/**
 * Tracing across the Kafka hop, against a real Zipkin server: one send, made by an HTTP request
 * that carries a `traceparent`, is one trace in Zipkin that spans the API that took it, the
 * worker that applied it (with its SQL) and the other API that delivered it, with the right parents.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTracedStack, type TracedStack, type ZipkinSpan } from "./support/tracedStack.js";

let stack: TracedStack;

beforeAll(async () => {
  stack = await startTracedStack();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

it("one send is one trace: API request, command produce, worker and its SQL, event produce, the other API's delivery", async () => {
  const { traceId, requestSpanId, spans } = await stack.sendTraced();
  const { services } = stack;
  const one = (what: string, match: (s: ZipkinSpan) => boolean) => {
    const found = spans.filter(match);
    const seen = JSON.stringify(spans.map((s) => [s.localEndpoint.serviceName, s.kind, s.name]));
    expect(found, `${what} in ${seen}`).toHaveLength(1);
    return found[0]!;
  };
  const on = (service: string, kind?: ZipkinSpan["kind"]) => (s: ZipkinSpan) =>
    s.localEndpoint.serviceName === service && (kind === undefined || s.kind === kind);

  const request = one("the request", on(services.sender, "SERVER"));
  expect(request.name).toBe("mutation send");
  expect(request.parentId).toBe(requestSpanId);
  expect(request.tags?.["graphql.operation.name"]).toBe("Send");
  const produce = one("the command's produce", on(services.sender, "PRODUCER"));
  expect(produce.parentId).toBe(request.id);
  expect(produce.name).toMatch(/^send .*chat\.commands$/);
  const processing = one("the worker's processing", on(services.worker, "CONSUMER"));
  expect(processing.parentId).toBe(produce.id);
  const chunk = one("the worker's chunk", (s) => on(services.worker)(s) && s.name === "apply commands");
  expect(chunk.parentId).toBe(processing.id);
  const statements = spans.filter(on(services.worker, "CLIENT"));
  for (const statement of statements) {
    expect(statement.parentId).toBe(chunk.id);
    expect(statement.tags?.["db.system.name"]).toBe("postgresql");
  }
  expect(statements.map((s) => s.name)).toContain("insert messages");
  const eventProduce = one("the event's produce", on(services.worker, "PRODUCER"));
  expect(eventProduce.parentId).toBe(chunk.id);
  const delivery = one("the other API's delivery", on(services.deliverer, "CONSUMER"));
  expect(delivery.parentId).toBe(processing.id);
  expect(delivery.tags?.["chat.subscribers"]).toBe("1");
  // The sender's log lines of this operation carry its trace.
  expect(stack.sender.logs()).toContain(`"trace_id":"${traceId}"`);
});
