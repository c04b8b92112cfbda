/**
 * custody: ownership discipline for native code used from Deno and Bun.
 *
 * - {@linkcode bind}: a native library as typed functions, from a declaration that says
 *   what every call does to ownership; wrappers ({@linkcode NativeObject}) that throw on any
 *   invalid use before native code runs.
 * - {@linkcode allocator}: the tracked allocator. Double frees, invalid frees, overruns,
 *   underruns and writes after free are reported as events; the process keeps running.
 * - {@linkcode registry}: the capsule registry of native objects, with generational
 *   handles, parent/child trees, keep-alives and destructors that run exactly once.
 * - {@linkcode stats}, {@linkcode leaks}, {@linkcode dump}: what custody knows, for debugging.
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
export { bind } from "./src/bindings/bind.ts";
export type { BindOptions, BulkRule, Heuristics } from "./src/bindings/rules.ts";
export type { Binding, BoundFunction, CallbackFunction, Wrapper } from "./src/bindings/bind.ts";
export type {
  CallbackDeclaration,
  CallbackParameter,
  Declaration,
  FunctionDeclaration,
  ObjectParameter,
  ObjectResult,
  TypeDeclaration,
} from "./src/bindings/declaration.ts";
export { closeCallback, openCallbacks, retain } from "./src/bindings/callbacks.ts";
export { jsDestructor } from "./src/bindings/destructors.ts";
export type { JsDestructor } from "./src/bindings/destructors.ts";
export { drainGates } from "./src/bindings/gates.ts";
export { onUnraisable } from "./src/bindings/unraisable.ts";
export type { Unraisable } from "./src/bindings/unraisable.ts";
export { isValid, keptAlive, NativeObject } from "./src/ownership/wrapper.ts";
export { dump } from "./src/ownership/dump.ts";
export type { Dump } from "./src/ownership/dump.ts";
export { events, states, transitions } from "./src/ownership/transitions.ts";
export type { Effect, Event, Outcome, State } from "./src/ownership/transitions.ts";
export { formatLeaks, hasLeaks, leaks, reportLeaksAtExit } from "./src/leaks.ts";
export type { ExitOptions, LeakedObject, LeakReport } from "./src/leaks.ts";
export * as allocator from "./src/allocator.ts";
export * as registry from "./src/registry.ts";
export { stats, violationCount } from "./src/stats.ts";
export type { Stats } from "./src/stats.ts";
export { CustodyError } from "./src/errors.ts";
export type { ErrorCode } from "./src/errors.ts";
export { runtime } from "./src/ffi/mod.ts";
export type { Runtime } from "./src/ffi/types.ts";
export { Capsule } from "./src/capsule.ts";
export type { CapsuleDestructor, CapsuleOptions } from "./src/capsule.ts";
export * as memory from "./src/memory/mod.ts";
export {
  addressof,
  alloc,
  array,
  cast,
  fromBuffer,
  fromHandle,
  gc,
  newAllocator,
  newHandle,
  newString,
  Pointer,
  pointer,
  string,
  struct,
  types,
} from "./src/memory/mod.ts";
