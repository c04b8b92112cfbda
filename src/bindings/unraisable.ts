/**
 * Errors that have no JS caller to be thrown to: a JS destructor that threw (run by
 * `release()`, `using`, the garbage collector or a native thread), a callback that threw
 * while no bound call was running (a queued call from another thread). Like Python's
 * unraisable hook, each is reported once, to the handlers registered here, or to
 * `console.error` when there are none; it is never thrown into unrelated code, so an
 * exception already on its way up is never replaced.
 *
 * @module
 */

/** Where an unraisable error came from. */
export interface Unraisable {
  readonly error: unknown;
  /** What was running: "the destructor of Window at 0x1000", "callback onEvent". */
  readonly where: string;
}

const handlers = new Set<(report: Unraisable) => void>();

/**
 * Sends unraisable errors to `handler` instead of `console.error`; returns the function
 * that stops it.
 *
 * @example
 * ```ts
 * import { onUnraisable } from "./unraisable.ts";
 * const seen: string[] = [];
 * const stop = onUnraisable(({ where }) => seen.push(where));
 * stop();
 * ```
 */
export function onUnraisable(handler: (report: Unraisable) => void): () => void {
  handlers.add(handler);
  return () => void handlers.delete(handler);
}

/** Reports `error` once. Never throws. */
export function reportUnraisable(error: unknown, where: string): void {
  const report = { error, where };
  if (handlers.size === 0) {
    console.error(`custody: ${where} threw, and nothing could catch it:`, error);
    return;
  }
  for (const handler of handlers) {
    try {
      handler(report);
    } catch (failure) {
      console.error(`custody: an unraisable-error handler threw:`, failure);
    }
  }
}
