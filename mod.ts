/**
 * custody: ownership discipline for native code used from Deno and Bun.
 *
 * - {@linkcode allocator}: the tracked allocator. Double frees, invalid frees, overruns,
 *   underruns and writes after free are reported as events; the process keeps running.
 * - {@linkcode registry}: the capsule registry of native objects, with generational
 *   handles, parent/child trees, keep-alives and destructors that run exactly once.
 * - {@linkcode stats}: every counter, read from mapped memory without a call.
 *
 * @example A double free is reported, not fatal
 * ```ts
 * import { allocator, stats } from "./mod.ts";
 * const address = allocator.malloc(16, { tag: "example" });
 * allocator.free(address);
 * allocator.free(address);
 * console.log(stats().doubleFrees >= 1); // true
 * ```
 *
 * @module
 */
export * as allocator from "./src/allocator.ts";
export * as registry from "./src/registry.ts";
export { stats, violationCount } from "./src/stats.ts";
export type { Stats } from "./src/stats.ts";
export { CustodyError } from "./src/errors.ts";
export type { ErrorCode } from "./src/errors.ts";
export { runtime } from "./src/ffi/mod.ts";
export type { Runtime } from "./src/ffi/types.ts";
