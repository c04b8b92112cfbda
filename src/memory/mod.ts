/**
 * The memory API: cffi's model, made safe. C types as data ({@linkcode types},
 * {@linkcode struct}, {@linkcode array}, {@linkcode pointer}); {@linkcode alloc} and custom
 * allocators ({@linkcode newAllocator}); raw pointers given an owner ({@linkcode gc});
 * bounds-checked {@linkcode Pointer}s and derived pointers ({@linkcode cast},
 * {@linkcode addressof}) that keep their owner alive and die with it; pinned JS buffers
 * ({@linkcode fromBuffer}); strings ({@linkcode string}, {@linkcode newString}); handles for
 * JS values ({@linkcode newHandle}, {@linkcode fromHandle}).
 *
 * @example
 * ```ts
 * import { alloc, struct, types } from "./mod.ts";
 * using point = alloc(struct("Point", { x: types.f64, y: types.f64 }), { x: 1 });
 * console.log(point.value); // { x: 1, y: 0 }
 * ```
 *
 * @module
 */
export { array, pointer, struct, types } from "./types.ts";
export type { ArrayType, CType, PointerType, ScalarName, ScalarType, StructField, StructType } from "./types.ts";
export { alloc } from "./alloc.ts";
export type { AllocOptions } from "./alloc.ts";
export { Pointer } from "./pointer.ts";
export type { Value } from "./pointer.ts";
export { addressof, cast } from "./derived.ts";
export type { CastOptions } from "./derived.ts";
export { gc } from "./gc.ts";
export type { Destructor, GcOptions } from "./gc.ts";
export { newAllocator } from "./allocators.ts";
export type { Allocator, AllocatorFunctions } from "./allocators.ts";
export { fromBuffer } from "./buffer.ts";
export type { FromBufferOptions } from "./buffer.ts";
export { newString, string } from "./strings.ts";
export { fromHandle, newHandle } from "./handles.ts";
