/** docs/grafana/chat-dashboard.json charts only metrics the product serves, and the ones an operator asks for first. */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { createMetrics } from "../../src/shared/metrics.js";

const dashboard = JSON.parse(readFileSync("docs/grafana/chat-dashboard.json", "utf8")) as {
  panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
};
const expressions = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);

/** Every chat_* metric: those createMetrics registers, and the gauges the app adds by name. */
function servedMetrics(): Set<string> {
  const names = new Set(
    createMetrics()
      .registry.getMetricsAsArray()
      .map((m) => m.name),
  );
  const sources = readdirSync("src", { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  for (const file of sources)
    for (const [, name] of readFileSync(path.join("src", file), "utf8").matchAll(/gauge\(\s*"(chat_\w+)"/g))
      names.add(name!);
  return names;
}

it("charts only metrics the product serves", () => {
  const served = servedMetrics();
  const charted = expressions.flatMap((e) =>
    [...e.matchAll(/\b(chat_\w+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!),
  );
  expect(charted.length).toBeGreaterThan(10);
  expect(charted.filter((name) => !served.has(name))).toEqual([]);
});

it("charts the send rate, e2e latency percentiles, consumer lag, dead letters, sockets and refusals", () => {
  for (const wanted of [
    /chat_commands_produced_total\{type="SendMessage"\}/,
    /histogram_quantile\(0\.99, .*chat_message_delivery_seconds_bucket/,
    /chat_consumer_lag/,
    /chat_commands_dead_lettered_total/,
    /chat_websocket_connections/,
    /chat_requests_refused_total/,
  ])
    expect(
      expressions.some((e) => wanted.test(e)),
      String(wanted),
    ).toBe(true);
});
