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
import type { GraphQLContext } from "../graphql/context.js";

/**
 * Fields whose value depends on who asks, as the SDL declares them (`@perViewer`): a
 * selection with any of them is shared only between subscriptions of the same viewer.
 */
export function viewerDependentFields(schema: GraphQLSchema): Set<string> {
  const fields = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields()))
      if (field.astNode?.directives?.some((d) => d.name.value === "perViewer"))
        fields.add(`${type.name}.${field.name}`);
  }
  return fields;
}

interface SelectionShape {
  /** Identifies the selection below the subscription field (and the variables it uses). */
  key: string;
  variables: string[];
  viewerDependent: boolean;
}

/** Shapes by document (parsed once per operation text, see documentCache.ts) and operation name. */
const shapes = new WeakMap<DocumentNode, Map<string, SelectionShape | null>>();

function cachedSelectionShape(
  perViewer: Set<string>,
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
  perViewer: Set<string>,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
): SelectionShape | null {
  const operation = getOperationAST(document, operationName);
  const root = operation?.selectionSet.selections[0];
  if (!operation || operation.operation !== "subscription" || !root || root.kind !== Kind.FIELD || !root.selectionSet)
    return null;
  let viewerDependent = false;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && perViewer.has(`${parent.name}.${node.name.value}`)) viewerDependent = true;
      },
    }),
  );
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
 * A `subscribe` for graphql-ws that executes a subscription's selection once per event and
 * shape, instead of once per subscriber: subscribers of a room asking for the same fields
 * (the usual case: one client app, thousands of users) share one execution result. The
 * source stream (authorization, replay, de-duplication) stays per subscriber. Selections
 * with viewer-dependent fields are shared only between subscriptions of the same viewer.
 */
export function createSharedSubscribe(schema: GraphQLSchema, options: { cacheSize?: number } = {}) {
  const cacheSize = options.cacheSize ?? 5000;
  const perViewer = viewerDependentFields(schema);
  const results = new Map<string, Promise<ExecutionResult> | ExecutionResult>();
  const shapeIds = new Map<string, string>();
  let nextShapeId = 0;
  const internShape = (shape: string) => {
    let id = shapeIds.get(shape);
    if (id === undefined) {
      // Bounded; ids are never reused, so a cleared shape only gets a new id (less sharing).
      if (shapeIds.size >= cacheSize) shapeIds.clear();
      id = String(nextShapeId++);
      shapeIds.set(shape, id);
    }
    return id;
  };

  return async function subscribe(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
    const shape = cachedSelectionShape(perViewer, args.schema, args.document, args.operationName);
    const context = args.contextValue as GraphQLContext;
    const variables = args.variableValues ?? {};
    // Interned to a short id once per subscription: the per-event key stays small to hash.
    const prefix = shape
      ? internShape(
          `${shape.key}|${JSON.stringify(shape.variables.map((v) => variables[v]))}|${shape.viewerDependent ? context.viewer?.id : "*"}`,
        )
      : null;

    return new SharedResults(source as AsyncIterableIterator<unknown>, (payload) => {
      // Shared per event, not per entity: a later event about the same message is executed
      // anew. A stream's closing error (left the room, ...) and rows replayed from the
      // database have no event identity: they are one subscriber's own.
      const event = eventIdentity(payload);
      if (!prefix || event === undefined) return execute({ ...args, rootValue: payload });
      const key = `${event}|${prefix}`;
      let result = results.get(key);
      if (!result) {
        result = execute({ ...args, rootValue: payload });
        results.set(key, result);
        if (results.size > cacheSize) results.delete(results.keys().next().value!);
        // A result with errors (a database hiccup, say) is not handed to the next subscriber.
        void Promise.resolve(result).then((r) => r.errors && results.delete(key));
      }
      return result;
    });
  };
}

/** A subscription's results: its source events, each executed (or shared) by `executeFor`. */
class SharedResults implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly upstream: AsyncIterableIterator<unknown>,
    private readonly executeFor: (payload: unknown) => Promise<ExecutionResult> | ExecutionResult,
  ) {}

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const item = await this.upstream.next();
    return item.done ? { done: true, value: undefined } : { done: false, value: await this.executeFor(item.value) };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.upstream.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.upstream.throw?.(error);
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
