/**
 * An async iterator fed by push(). It holds at most `limit` undelivered items: one more
 * ends it with `onOverflow()`'s error, so a reader that stops reading cannot grow memory.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failWaiting: ((error: unknown) => void) | null = null;
  private done = false;
  private error: unknown = null;

  /** `onOverflow` and `onClose` may be left out by a subclass that overrides `overflowed` and `closed`. */
  constructor(
    private readonly limit: number,
    private readonly onOverflow: () => Error = overflowError,
    private readonly onClose: () => void = nothing,
  ) {}

  /** The error that ends a queue that was pushed past its limit. */
  protected overflowed(): Error {
    return this.onOverflow();
  }

  /** Called once when the queue ends, however it ends. */
  protected closed(): void {
    this.onClose();
  }

  push(item: T): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value: item, done: false });
      return;
    }
    if (this.buffer.length >= this.limit) {
      this.fail(this.overflowed());
      return;
    }
    this.buffer.push(item);
  }

  /** Ends the iterator once the items already queued are read. */
  end(): void {
    this.finish();
  }

  /** Ends the iterator with an error once the items already queued are read. */
  fail(error: unknown): void {
    if (this.done) return;
    this.error = error;
    this.buffer.length = 0; // an overflowing reader resumes from the database, not from memory
    this.finish();
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = null;
      this.error = null;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.error) {
      const error = this.error;
      this.error = null;
      return Promise.reject(error);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.waiting && !this.error) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value: undefined, done: true });
    }
    this.closed();
  }
}

const overflowError = () => new Error("queue overflow");
const nothing = () => {};
