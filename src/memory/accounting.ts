/**
 * Counters of the memory API that live in JS rather than in the native stats block: what
 * `gc()` was told about sizes, and the buffers `fromBuffer()` pins. {@linkcode stats}
 * reports them with the native counters.
 *
 * @module
 */

/** The counters; only the memory API writes them. */
export const memoryCounters = {
  /** Objects `gc()` gave an owner that are still owned. */
  gcLiveCount: 0,
  /** The sum of their size hints. */
  gcLiveBytes: 0,
  /** Buffers pinned by `fromBuffer()` and not yet released. */
  pinnedBuffers: 0,
  /** Pinned buffers found detached or shrunk behind custody's back (reported at the next use). */
  pinViolations: 0,
};

/** Something counted while it lives; `end()` uncounts it once, however often it is called. */
export class Counted {
  #ended = false;
  readonly #end: () => void;

  constructor(start: () => void, end: () => void) {
    start();
    this.#end = end;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#end();
  }

  /** An attachment's close (ends with the object it is attached to). */
  close(): void {
    this.end();
  }
}
