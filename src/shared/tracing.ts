/**
 * OpenTelemetry tracing, off unless an exporter is configured the way OpenTelemetry's own
 * SDKs read it (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_ZIPKIN_ENDPOINT,
 * OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER). Spans are made by hand at the product's seams (the
 * GraphQL request, a command's produce, the worker's chunk and its SQL, the event's delivery):
 * see docs/operations.md for why not through the auto-instrumentations. While tracing is off,
 * `tracing.on` is false and the seams skip every call into OpenTelemetry.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from "@opentelemetry/api";
import type { IHeaders } from "kafkajs";
import type { Logger } from "./logger.js";

export { SpanKind, type Span };

export interface TracingConfig {
  OTEL_SDK_DISABLED?: boolean;
  OTEL_TRACES_EXPORTER?: "otlp" | "zipkin" | "none";
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_EXPORTER_ZIPKIN_ENDPOINT?: string;
  OTEL_SERVICE_NAME?: string;
}

/** Which exporter the settings ask for: an explicit OTEL_TRACES_EXPORTER, else the one whose endpoint is set. */
export function exporterOf(config: TracingConfig): "otlp" | "zipkin" | null {
  if (config.OTEL_SDK_DISABLED) return null;
  if (config.OTEL_TRACES_EXPORTER) return config.OTEL_TRACES_EXPORTER === "none" ? null : config.OTEL_TRACES_EXPORTER;
  if (config.OTEL_EXPORTER_ZIPKIN_ENDPOINT) return "zipkin";
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT || config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return "otlp";
  return null;
}

const tracer = () => trace.getTracer("chat");

/** What a span is: its name, kind and attributes, and its parent when not the active span. */
export interface SpanSpec {
  name: string;
  kind?: SpanKind;
  attributes?: Attributes;
  parent?: Context;
  links?: Link[];
}

export const tracing = {
  /** Whether this process exports spans (set once, at start). */
  on: false,

  /** Registers the SDK when an exporter is configured; returns how to flush and stop it. */
  async start(config: TracingConfig, role: string, logger: Logger): Promise<(() => Promise<void>) | null> {
    const exporterKind = exporterOf(config);
    if (!exporterKind) return null;
    const [{ NodeTracerProvider, BatchSpanProcessor }, { resourceFromAttributes }] = await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/resources"),
    ]);
    const otlpUrl =
      config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
      (config.OTEL_EXPORTER_OTLP_ENDPOINT && `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, "")}/v1/traces`);
    const exporter =
      exporterKind === "zipkin"
        ? new (await import("@opentelemetry/exporter-zipkin")).ZipkinExporter({
            url: config.OTEL_EXPORTER_ZIPKIN_ENDPOINT,
          })
        : new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter({
            url: otlpUrl || undefined,
          });
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ "service.name": config.OTEL_SERVICE_NAME ?? `chat-${role}` }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    provider.register(); // W3C trace context, and AsyncLocalStorage for the active span
    this.on = true;
    logger.info({ exporter: exporterKind }, "tracing on");
    return async () => {
      this.on = false;
      await provider.shutdown();
    };
  },

  /**
   * Runs `fn` in a new span (a child of the active one, or of `parent`), ending it when `fn`
   * settles. `describe` is called only while tracing: the seams pay nothing else when it is off.
   */
  async span<T>(describe: () => SpanSpec, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
    const span = this.begin(describe);
    if (!span) return fn(undefined);
    try {
      return await context.with(contextOf(span), () => fn(span));
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  },

  /** A span started now and ended by the caller (one whose end is a callback's); undefined while tracing is off. */
  begin(describe: () => SpanSpec): Span | undefined {
    if (!this.on) return undefined;
    const { name, parent, ...options } = describe();
    return tracer().startSpan(name, options, parent ?? context.active());
  },

  /** The trace context carried by Kafka record headers or HTTP headers (W3C `traceparent`). */
  extract(headers: IHeaders | Record<string, string | string[] | undefined> | undefined): Context {
    if (!this.on || !headers) return ROOT_CONTEXT;
    return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  },

  /** `headers` with the context of `span` (or the active one) added, as instrumentation-kafkajs writes it. */
  inject<H extends Record<string, string>>(headers: H, span?: Span): H {
    if (!this.on) return headers;
    const from = span ? trace.setSpan(context.active(), span) : context.active();
    propagation.inject(from, headers);
    return headers;
  },

  /** The active span's ids, for log lines (pino's mixin). */
  logFields(): Record<string, string> {
    const span = this.on ? trace.getSpan(context.active()) : undefined;
    if (!span) return {};
    const { traceId, spanId } = span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  },

  /** The active span, if tracing is on. */
  active(): Span | undefined {
    return this.on ? trace.getSpan(context.active()) : undefined;
  },
};

/** OpenTelemetry's messaging attributes for a Kafka record, or a batch of them. */
export function messagingAttributes(
  topic: string,
  operation: "send" | "process",
  record: { key?: string; id?: string; partition?: number; offset?: string; count?: number } = {},
): Attributes {
  return {
    "messaging.system": "kafka",
    "messaging.destination.name": topic,
    "messaging.operation.type": operation,
    ...(record.key !== undefined ? { "messaging.kafka.message.key": record.key } : {}),
    ...(record.id !== undefined ? { "messaging.message.id": record.id } : {}),
    ...(record.partition !== undefined ? { "messaging.destination.partition.id": String(record.partition) } : {}),
    ...(record.offset !== undefined ? { "messaging.kafka.offset": Number(record.offset) } : {}),
    ...(record.count !== undefined ? { "messaging.batch.message_count": record.count } : {}),
  };
}

/** A context whose active span is `span`, to parent others on. */
export const contextOf = (span: Span): Context => trace.setSpan(context.active(), span);

export function failed(span: Span | undefined, error: unknown) {
  if (!span) return;
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
}

/** Kafka header values are Buffers (or arrays of them); HTTP's are strings. */
const headerGetter = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get(carrier: Record<string, unknown>, key: string) {
    const value = carrier[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : String(first);
  },
};
