/**
 * `newAllocator({alloc, free, clear})`: memory from your own functions (cffi's
 * `ffi.new_allocator`), with everything {@linkcode alloc} guarantees: one owner per block, a
 * `free` that runs exactly once per block, bounds checks, and derived pointers that keep the
 * block alive and die with it.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { handleOf, type ObjectType, objectType, own } from "../ownership/wrapper.ts";
import * as registry from "../registry.ts";
import { allocFrom, type AllocOptions, memoryTypeName, type MemorySource } from "./alloc.ts";
import { registerDestructor, trampolineAddress } from "./destructors.ts";
import { block, checkedView, viewPointer, type Pointer, type Value } from "./pointer.ts";
import { array, type CType, types } from "./types.ts";

/** What a custom allocator is made of. */
export interface AllocatorFunctions {
  /** Returns the address of `size` new bytes; 0 (NULL) when it cannot. */
  readonly alloc: (size: number) => number;
  /**
   * Frees a block `alloc` returned; without it, blocks are never freed (as in cffi). Blocks
   * whose pointer fields point at one another are freed in no particular order once all are
   * garbage, so it must not follow pointers stored in the block.
   */
  readonly free?: (address: number) => void;
  /** Zero each new block (when `alloc` does not); default true. */
  readonly clear?: boolean;
}

/** A custom allocator: `alloc` as the module's {@linkcode alloc}, from your functions. */
export interface Allocator {
  alloc(type: CType, init?: Value, options?: Omit<AllocOptions, "zero" | "tag">): Pointer;
}

/**
 * Makes an allocator from your `alloc` and `free` functions.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` when `alloc` (or a given `free`) is not a function;
 * later, from its `alloc`: `OUT_OF_MEMORY` when your `alloc` returns NULL, `INVALID_ARGUMENT`
 * when it returns something that is not an address.
 *
 * @example An allocator over the tracked allocator, counting its frees
 * ```ts
 * import { allocator } from "../../mod.ts";
 * import { newAllocator } from "./allocators.ts";
 * import { types } from "./types.ts";
 * let frees = 0;
 * const counting = newAllocator({
 *   alloc: (size) => allocator.malloc(size),
 *   free: (address) => { allocator.free(address); frees++; },
 * });
 * const n = counting.alloc(types.i64, 42n);
 * console.log(n.value); // 42n
 * n.release();
 * console.log(frees); // 1
 * ```
 */
export function newAllocator(functions: AllocatorFunctions): Allocator {
  const { alloc, free, clear = true } = functions;
  if (typeof alloc !== "function") throw new CustodyError("INVALID_ARGUMENT", "Cannot make an allocator: alloc must be a function");
  if (free !== undefined && typeof free !== "function") throw new CustodyError("INVALID_ARGUMENT", "Cannot make an allocator: free must be a function");
  // One destructor context for the allocator's lifetime: every block it made is freed through it.
  const context = free === undefined ? 0 : registerDestructor(free, false);
  // An allocator's free gives memory back; it does not follow pointers stored in it.
  const ownerType: ObjectType = objectType(memoryTypeName, { destructor: free === undefined ? 0 : trampolineAddress, destructorFreesOnly: true });
  const source: MemorySource = {
    allocate(size) {
      const address = alloc(size);
      if (address === 0 || (address as unknown) === null) throw new CustodyError("OUT_OF_MEMORY", `Cannot allocate ${size} bytes: the allocator's alloc returned NULL`);
      if (!Number.isSafeInteger(address) || address < 0) {
        throw new CustodyError("INVALID_ARGUMENT", `Cannot allocate ${size} bytes: the allocator's alloc returned ${String(address)}, not an address`);
      }
      if (clear) {
        const bytes = viewPointer(block({ owner: null, address, byteLength: size }), array(types.u8, size), size);
        const { view } = checkedView(bytes);
        new Uint8Array(view.buffer, view.byteOffset, size).fill(0);
      }
      return address;
    },
    own(address) {
      const owner = own(ownerType, address);
      if (context !== 0) registry.setDestructor(handleOf(owner), trampolineAddress, context);
      return owner;
    },
  };
  return { alloc: (type, init, options = {}) => allocFrom(source, type, init, options) };
}
