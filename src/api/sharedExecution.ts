import { createHash } from "node:crypto";
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  print,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from "graphql";
import { eventIdentity } from "../commands/eventIdentity.js";
import { AppError, asGraphQLError } from "../shared/errors.js";
import type { GraphQLContext } from "../graphql/context.js";
import { ResponseBudget, tooLargeResult } from "../graphql/responseBudget.js";

/**
 * Fields whose value depends on who asks (`@perViewer`: a selection with any of them is
 * shared only between subscriptions of the same viewer) or on the subscription itself
 * (`@perSubscription`: never shared), as the SDL declares them.
 */
export function viewerDependentFields(schema: GraphQLSchema): Map<string, Dependence> {
  const fields = new Map<string, Dependence>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const marked = field.astNode?.directives?.find((d) => DEPENDENCES.has(d.name.value as Dependence));
      if (marked) fields.set(`${type.name}.${field.name}`, marked.name.value as Dependence);
    }
  }
  return fields;
}

type Dependence = "perViewer" | "perSubscription";
const DEPENDENCES: ReadonlySet<Dependence> = new Set(["perViewer", "perSubscription"]);

interface SelectionShape {
  /** Identifies the selection below the subscription field (and the variables it uses). */
  key: string;
  variables: string[];
  viewerDependent: boolean;
}

/** Shapes by document (parsed once per operation text, see documentCache.ts) and operation name. */
const shapes = new WeakMap<DocumentNode, Map<string, SelectionShape | null>>();

function cachedSelectionShape(
  perViewer: Map<string, Dependence>,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
): SelectionShape | null {
  let byOperation = shapes.get(document);
  if (!byOperation) shapes.set(document, (byOperation = new Map()));
  const name = operationName ?? "";
  if (!byOperation.has(name)) byOperation.set(name, selectionShape(perViewer, schema, document, operationName));
  return byOperation.get(name)!;
}

function selectionShape(
  perViewer: Map<string, Dependence>,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
): SelectionShape | null {
  const operation = getOperationAST(document, operationName);
  const root = operation?.selectionSet.selections[0];
  if (!operation || operation.operation !== "subscription" || !root || root.kind !== Kind.FIELD || !root.selectionSet)
    return null;
  let viewerDependent = false;
  let subscriptionDependent = false;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        const dependence = parent && perViewer.get(`${parent.name}.${node.name.value}`);
        if (dependence === "perViewer") viewerDependent = true;
        if (dependence === "perSubscription") subscriptionDependent = true;
      },
    }),
  );
  if (subscriptionDependent) return null;
  // Everything in the operation shapes the result (the root field's alias and directives, the
  // operation's directives, the selection, fragments, the variables they use) except the root
  // field's arguments: those (roomId, afterSeq) differ per subscriber and only shape the source
  // stream, so subscribers resuming from different seqs still share.
  const shaping = visit(operation, { Field: (node) => (node === root ? { ...node, arguments: [] } : undefined) });
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  const variables = new Set<string>();
  for (const node of [shaping, ...fragments])
    visit(node, { VariableDefinition: () => false, Variable: (v) => void variables.add(v.name.value) });
  return {
    key: [shaping, ...fragments].map(print).join("\n"),
    variables: [...variables].sort(),
    viewerDependent,
  };
}

/**
 * Selection shapes interned by a digest, not their text: an untrusted client's selection (up
 * to a document's size) is not kept after its subscription ends, only 32 bytes of its hash.
 */
class ShapeIds {
  private readonly ids = new Map<string, string>();
  private next = 0;
  constructor(private readonly limit: number) {}

  idOf(shape: string) {
    const digest = createHash("sha256").update(shape).digest("base64");
    let id = this.ids.get(digest);
    if (id === undefined) {
      // Bounded; ids are never reused, so a cleared shape only gets a new id (less sharing).
      if (this.ids.size >= this.limit) this.ids.clear();
      id = String(this.next++);
      this.ids.set(digest, id);
    }
    return id;
  }
}

/** One execution with its own byte budget; past it, the one error instead of what was built. */
function executeWithin(maxEventBytes: number, args: ExecutionArgs, payload: unknown): Result {
  const budget = new ResponseBudget(maxEventBytes);
  // A subscription's executions never overlap (each waits for the one before), so its
  // context can carry the current one's budget.
  (args.contextValue as GraphQLContext).responseBudget = budget;
  const counted = (result: ExecutionResult) => {
    const answer = budget.exceeded ? tooLargeResult(budget) : result;
    sizes.set(answer, budget.used);
    return answer;
  };
  const result = execute({ ...args, rootValue: payload });
  return result instanceof Promise ? result.then(counted) : counted(result);
}

/**
 * A `subscribe` for graphql-ws that executes a subscription's selection once per event and
 * shape, instead of once per subscriber: subscribers of a room asking for the same fields
 * (the usual case: one client app, thousands of users) share one execution result. The
 * source stream (authorization, replay, de-duplication) stays per subscriber. Selections
 * with viewer-dependent fields are shared only between subscriptions of the same viewer.
 */
export function createSharedSubscribe(schema: GraphQLSchema, options: SharedSubscribeOptions) {
  const sharing = new Sharing(schema, options);
  return async function subscribe(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
    return new SharedResults(source as AsyncIterableIterator<unknown>, sharing, args, sharing.prefixOf(args));
  };
}

/** What subscriptions share: the results of recent events by shape, and the shapes' ids. */
class Sharing {
  private readonly perViewer: Map<string, Dependence>;
  private readonly results: ResultCache;
  private readonly shapes: ShapeIds;

  constructor(
    schema: GraphQLSchema,
    private readonly options: SharedSubscribeOptions,
  ) {
    const cacheSize = options.cacheSize ?? 5000;
    this.perViewer = viewerDependentFields(schema);
    this.results = new ResultCache(cacheSize, options.cacheBytes ?? 16 * 1024 * 1024);
    this.shapes = new ShapeIds(cacheSize);
  }

  /** A subscription's share key (its selection shape, variables and viewer), or null when it shares nothing. */
  prefixOf(args: ExecutionArgs): string | null {
    const shape = cachedSelectionShape(this.perViewer, args.schema, args.document, args.operationName);
    if (!shape) return null;
    const context = args.contextValue as GraphQLContext;
    const variables = args.variableValues ?? {};
    // Interned to a short id once per subscription: the per-event key stays small to hash.
    return this.shapes.idOf(
      `${shape.key}|${JSON.stringify(shape.variables.map((v) => variables[v]))}|${shape.viewerDependent ? context.viewer?.id : "*"}`,
    );
  }

  execute(args: ExecutionArgs, prefix: string | null, payload: unknown): Result {
    // Shared per event, not per entity: a later event about the same message is executed
    // anew. A stream's closing error (left the room, ...) and rows replayed from the
    // database have no event identity: they are one subscriber's own.
    const event = eventIdentity(payload);
    if (!prefix || event === undefined) return executeWithin(this.options.maxEventBytes, args, payload);
    const key = `${event}|${prefix}`;
    let result = this.results.get(key);
    if (!result) {
      result = executeWithin(this.options.maxEventBytes, args, payload);
      this.results.set(key, result);
      // A result with errors (a database hiccup, say) is not handed to the next subscriber.
      void Promise.resolve(result).then((r) =>
        r.errors ? this.results.delete(key) : this.results.sized(key, sizes.get(r) ?? 0),
      );
    }
    return result;
  }

  charge(args: ExecutionArgs, result: ExecutionResult) {
    this.options.charge(args.contextValue as GraphQLContext, sizes.get(result) ?? 0);
  }
}

export interface SharedSubscribeOptions {
  /** Results kept for other subscribers of the same event and shape. @default 5000 */
  cacheSize?: number;
  /** Bytes of results kept (as counted while building them). @default 16 MiB */
  cacheBytes?: number;
  /** The most bytes one event's result may grow to while it is built (RESPONSE_TOO_LARGE past it). */
  maxEventBytes: number;
  /** Counts a delivered result's bytes against its subscriber; throws (an AppError) when their budget is spent. */
  charge(context: GraphQLContext, bytes: number): void;
}

type Result = Promise<ExecutionResult> | ExecutionResult;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** The bytes each result was counted at while it was built. */
const sizes = new WeakMap<ExecutionResult, number>();

/** Results by event and shape, bounded in count and in the bytes they were counted at. */
class ResultCache {
  private readonly entries = new Map<string, Result>();
  private readonly bytes = new Map<string, number>();
  private totalBytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string) {
    return this.entries.get(key);
  }

  set(key: string, result: Result) {
    this.entries.set(key, result);
    this.evict();
  }

  /** Records a result's size once it is built. */
  sized(key: string, size: number) {
    if (!this.entries.has(key)) return;
    this.bytes.set(key, size);
    this.totalBytes += size;
    this.evict();
  }

  delete(key: string) {
    this.entries.delete(key);
    this.totalBytes -= this.bytes.get(key) ?? 0;
    this.bytes.delete(key);
  }

  private evict() {
    while (this.entries.size > this.maxEntries || this.totalBytes > this.maxBytes)
      this.delete(this.entries.keys().next().value!);
  }
}

/**
 * A subscription's results: its source events, each executed (or shared) by `sharing`. Its
 * own state is fields, not closures: every idle subscription keeps one.
 */
class SharedResults implements AsyncIterableIterator<ExecutionResult> {
  private ended = false;

  constructor(
    private readonly upstream: AsyncIterableIterator<unknown>,
    private readonly sharing: Sharing,
    private readonly args: ExecutionArgs,
    private readonly prefix: string | null,
  ) {}

  // Not async while it waits for the source: an idle subscription keeps this call pending,
  // and a suspended async call holds a generator and its registers.
  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.ended) return this.return();
    return this.upstream.next().then((item) => (item.done ? DONE : this.deliver(item.value)));
  }

  /** A subscriber whose budget is spent gets that error as its last result, then the end. */
  private async deliver(payload: unknown): Promise<IteratorResult<ExecutionResult>> {
    const result = await this.sharing.execute(this.args, this.prefix, payload);
    try {
      this.sharing.charge(this.args, result);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      this.ended = true;
      return { done: false, value: { errors: [asGraphQLError(error)] } };
    }
    return { done: false, value: result };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.upstream.return?.();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.upstream.throw?.(error);
    return DONE;
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
