import { readFileSync } from "node:fs";
import { z } from "zod";
import { AppError } from "../shared/errors.js";

/**
 * `any`: a request may send a document's text or, in its place, the hash of one of the
 * trusted documents. `only`: it must send a trusted document (by hash, or its exact text);
 * anything else is refused before it is parsed.
 */
export type TrustedDocumentsMode = "any" | "only";

/** What a GraphQL request names its document by: Apollo's and urql's APQ extension, or GraphQL over HTTP's documentId. */
export interface DocumentRequest {
  query?: unknown;
  documentId?: unknown;
  extensions?: unknown;
}

const manifestSchema = z.record(
  z.string().regex(/^sha256:[0-9a-f]{64}$/, "keys must be sha256:<64 hex digits>"),
  z.string(),
);
const persistedQuery = z.object({ persistedQuery: z.object({ sha256Hash: z.string() }).passthrough() }).passthrough();

/**
 * The documents the web client was built with (codegen's `persisted-documents.json`,
 * `sha256:<hex>` to text), by hash and by text.
 */
export class TrustedDocuments {
  private readonly byHash: ReadonlyMap<string, string>;
  private readonly texts: ReadonlySet<string>;

  constructor(
    manifest: Record<string, string>,
    readonly mode: TrustedDocumentsMode,
  ) {
    const entries = Object.entries(manifestSchema.parse(manifest)).map(
      ([id, text]) => [id.slice("sha256:".length), text] as const,
    );
    this.byHash = new Map(entries);
    this.texts = new Set(entries.map(([, text]) => text));
  }

  static load(file: string, mode: TrustedDocumentsMode): TrustedDocuments {
    let manifest: unknown = {};
    try {
      manifest = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      // Without a manifest `any` still serves every client that sends its text; `only` would serve none.
      if (mode === "only" || (error as NodeJS.ErrnoException).code !== "ENOENT")
        throw new Error(`could not read the trusted documents in ${file} (npm run codegen writes them): ${error}`);
    }
    return new TrustedDocuments(manifest as Record<string, string>, mode);
  }

  /**
   * The request with its document as text, or the error that refuses it. A request that names
   * a hash gets the trusted text in its place (any text it also sent is ignored); under
   * `only`, a text must be one of the trusted ones, compared as a whole string: nothing is parsed.
   */
  resolve<T extends DocumentRequest>(request: T): T | AppError {
    const hash = this.hashOf(request);
    if (hash instanceof AppError) return hash;
    if (hash !== undefined) {
      const query = this.byHash.get(hash);
      if (query !== undefined) return withDocument(request, query);
      return new AppError(
        "PERSISTED_QUERY_NOT_FOUND",
        `no trusted document has hash ${hash}: this server knows the documents its clients were built with (npm run codegen)`,
      );
    }
    if (this.mode === "any" || (typeof request.query === "string" && this.texts.has(request.query))) return request;
    return new AppError(
      "TRUSTED_DOCUMENT_REQUIRED",
      "this server runs only the documents its clients were built with (TRUSTED_DOCUMENTS=only): send one's SHA-256 as extensions.persistedQuery.sha256Hash or documentId",
    );
  }

  /** `resolve` for a request body as parsed: a batch or a non-object is Apollo's to refuse, or `only`'s. */
  resolveBody(body: unknown): unknown {
    if (typeof body === "object" && body !== null && !Array.isArray(body)) return this.resolve(body as DocumentRequest);
    return this.mode === "any" ? body : this.resolve({});
  }

  private hashOf({ documentId, extensions }: DocumentRequest): string | undefined | AppError {
    let id: unknown;
    if (documentId !== undefined) id = typeof documentId === "string" ? documentId.replace(/^sha256:/, "") : documentId;
    else if (extensions !== undefined && extensions !== null) {
      const parsed = persistedQuery.safeParse(extensions);
      if (parsed.success) id = parsed.data.persistedQuery.sha256Hash;
      else if (typeof extensions === "object" && "persistedQuery" in extensions) id = null;
    }
    if (id === undefined) return undefined;
    if (typeof id === "string" && /^[0-9a-f]{64}$/.test(id)) return id;
    return new AppError(
      "BAD_USER_INPUT",
      "a document's hash must be 64 lowercase hex digits (extensions.persistedQuery.sha256Hash, or documentId as sha256:<hex>)",
    );
  }
}

/** The request with the trusted text, without the hash (Apollo would take it for its own cache's). */
function withDocument<T extends DocumentRequest>(request: T, query: string): T {
  const { documentId: _id, extensions, ...rest } = request;
  const { persistedQuery: _hash, ...otherExtensions } = (extensions ?? {}) as Record<string, unknown>;
  return { ...rest, query, ...(extensions !== undefined ? { extensions: otherExtensions } : {}) } as T;
}
