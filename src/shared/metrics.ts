import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** How often the event loop's delay is sampled (nodejs_eventloop_lag_* metrics). */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The process's Prometheus metrics, served on GET /metrics. One registry per app instance
 * (not prom-client's global one), so several instances in one process stay apart.
 */
export function createMetrics() {
  const registry = new Registry();
  // The event-loop delay histogram samples with a timer: prom-client's default (every 10 ms)
  // woke an idle process 100 times a second, most of what an idle API or worker cost.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const registers = [registry];
  return {
    registry,
    ...commandMetrics(registers),
    ...deliveryMetrics(registers),
    /** Set by whoever can measure it (see registerGauges in app.ts). */
    gauge(name: string, help: string, labelNames: string[], collect: (gauge: Gauge) => void | Promise<void>) {
      return new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          await collect(this);
        },
      });
    },
  };
}

/** From the API's command bus and the workers. */
function commandMetrics(registers: Registry[]) {
  return {
    commandsProduced: new Counter({
      name: "chat_commands_produced_total",
      help: "Commands published to chat.commands by the API.",
      labelNames: ["type"] as const,
      registers,
    }),
    commandTimeouts: new Counter({
      name: "chat_command_timeouts_total",
      help: "Mutations whose outcome did not arrive in time.",
      labelNames: ["type"] as const,
      registers,
    }),
    commandsApplied: new Counter({
      name: "chat_commands_applied_total",
      help: "Commands decided by workers: result=ok (applied) or rejected (an error outcome).",
      labelNames: ["type", "result"] as const,
      registers,
    }),
    commandsDeadLettered: new Counter({
      name: "chat_commands_dead_lettered_total",
      help: "Records sent to chat.commands.dlq because they can never be applied.",
      registers,
    }),
    batchRetries: new Counter({
      name: "chat_worker_batch_retries_total",
      help: "Batches retried after a transient failure (database or broker unavailable).",
      registers,
    }),
    batchSize: new Histogram({
      name: "chat_worker_batch_size",
      help: "Commands per batch applied in one transaction.",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    eventsLogged: new Counter({
      name: "chat_event_log_appended_total",
      help: "Events appended to the event_log table by the event-log consumer.",
      registers,
    }),
  };
}

/** From the API's subscriptions and WebSockets. */
function deliveryMetrics(registers: Registry[]) {
  return {
    deliveryLatency: new Histogram({
      name: "chat_message_delivery_seconds",
      help: "Time from a sendMessage call until its event reaches an API process that has subscribers to the room (observed once per event, not per subscriber).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    slowSubscribersClosed: new Counter({
      name: "chat_slow_subscribers_closed_total",
      help: "WebSocket connections closed because a subscription fell too far behind.",
      registers,
    }),
    requestsRefused: new Counter({
      name: "chat_requests_refused_total",
      help: "Operations refused by a rate limit, budget, operation limit or the trusted documents, by error code.",
      labelNames: ["code"],
      registers,
    }),
    connectionLimitsHit: new Counter({
      name: "chat_connection_limits_hit_total",
      help: "WebSocket connections or subscriptions refused or closed by a connection limit, by limit.",
      labelNames: ["limit"],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The codes of refusals that protect the service (the rest are the client's mistakes or our faults). */
const REFUSALS = new Set([
  "TOO_MANY_REQUESTS",
  "OPERATION_LIMIT_EXCEEDED",
  "RESPONSE_TOO_LARGE",
  "TOO_MANY_SUBSCRIPTIONS",
  "TRUSTED_DOCUMENT_REQUIRED",
]);

/** Counts the refusals among errors an operation is answered with. */
export function countRefusals(metrics: Metrics, errors: ReadonlyArray<{ extensions?: { code?: unknown } }>) {
  for (const error of errors) {
    const code = error.extensions?.code;
    if (typeof code === "string" && REFUSALS.has(code)) metrics.requestsRefused.inc({ code });
  }
}
