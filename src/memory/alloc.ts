/**
 * `alloc`: new memory for a C type, from the tracked allocator, owned by JS. Zeroed unless
 * asked otherwise, initialised from a JS value, freed exactly once: by `release()`, `using`,
 * or, as a last resort, garbage collection.
 *
 * @module
 */
import * as allocator from "../allocator.ts";
import { CustodyError } from "../errors.ts";
import { libraryPath } from "../native/library.ts";
import { symbolAddress } from "../native/symbol_address.ts";
import { addressOf, type NativeObject, type ObjectType, objectType, own, ownerCodes, ownRegistered } from "../ownership/wrapper.ts";
import * as registry from "../registry.ts";
import { block, ownerPointer, type Pointer, type Value } from "./pointer.ts";
import { type ArrayType, checkType, type CType } from "./types.ts";

/** Options of {@linkcode alloc}. */
export interface AllocOptions {
  /** The length of a dynamic array (default: the length of the initialiser). */
  readonly length?: number;
  /** Zero the memory before the initialiser is written; default true. */
  readonly zero?: boolean;
  /** The allocator tag the block is recorded with (see `allocator.tag`); default "custody.memory". */
  readonly tag?: string | number;
}

/** The registry's type name of every block the memory API owns: one owner per address. */
export const memoryTypeName = "custody.memory";

/** Where memory comes from and how its owner is made: the tracked allocator, or a custom one. */
export interface MemorySource {
  /** Returns the address of `size` bytes aligned to `align`, zeroed if `zero`; throws when it cannot. */
  allocate(size: number, align: number, zero: boolean, tag: string | number): number;
  /** Gives the new block its registry owner, whose destructor frees it. */
  own(address: number): NativeObject;
  /**
   * Both at once, where the source can do that in one native call; undefined when it
   * cannot this time (nothing is allocated then, and `allocate` and `own` are used).
   */
  allocateOwned?(size: number, align: number, zero: boolean, tag: string | number): NativeObject | undefined;
}

let trackedType: ObjectType | undefined;
// custody_free reads nothing in the block, so blocks whose pointer fields point at each other are collected.
const blockType = () => trackedType ??= objectType(memoryTypeName, { destructor: symbolAddress(libraryPath(), "custody_free"), destructorFreesOnly: true });

const tracked: MemorySource = {
  allocate: (size, align, zero, tag) => allocator.malloc(size, { alignment: Math.max(align, 16), zero, tag }),
  own: (address) => own(blockType(), address),
  allocateOwned: (size, align, zero, tag) => {
    const type = blockType();
    const block = registry.allocateRegistered(size, Math.max(align, 16), zero, allocator.tagId(tag), type.nameId, ownerCodes.owned);
    return block === undefined ? undefined : ownRegistered(type, block.address, block.handle);
  },
};

/** How many elements an array gets: its fixed length, an explicit one, or its initialiser's. */
function arrayLength(type: ArrayType, init: Value | undefined, options: AllocOptions): number {
  const given = options.length;
  if (given !== undefined) {
    if (!Number.isSafeInteger(given) || given < 0) {
      throw new CustodyError("INVALID_ARGUMENT", `Cannot allocate ${type.name} of length ${String(given)}: it must be a non-negative integer`);
    }
    if (type.length !== undefined && given !== type.length) {
      throw new CustodyError("INVALID_ARGUMENT", `Cannot allocate ${type.name} with length ${given}: the type fixes it`);
    }
    return given;
  }
  if (type.length !== undefined) return type.length;
  if (typeof init === "string") return new TextEncoder().encode(init).length + 1;
  if (ArrayBuffer.isView(init)) return Math.ceil(init.byteLength / type.element.size);
  if (Array.isArray(init)) return init.length;
  throw new CustodyError("INVALID_ARGUMENT", `Cannot allocate ${type.name}: a dynamic array needs a length or an initialiser`);
}

const noOptions: AllocOptions = {};

/** {@linkcode alloc} from any source of memory. */
export function allocFrom(source: MemorySource, type: CType, init: Value | undefined, options: AllocOptions): Pointer {
  checkType(type, "Cannot allocate");
  // Only arrays look further: the rest of that work kept the engines from inlining it here.
  const length = type.kind === "array" ? arrayLength(type, init, options) : 1;
  const byteLength = type.kind === "array" ? type.element.size * length : type.size;
  // A zero-byte block still needs an address of its own to be owned.
  const size = Math.max(byteLength, 1), zero = options.zero ?? true, tag = options.tag ?? memoryTypeName;
  const owner = source.allocateOwned?.(size, type.align, zero, tag) ?? source.own(source.allocate(size, type.align, zero, tag));
  const address = addressOf(owner);
  const pointer = ownerPointer(block({ owner, address, byteLength }), type, length);
  if (init !== undefined) {
    try {
      pointer.value = init;
    } catch (error) {
      pointer.release();
      throw error;
    }
  }
  return pointer;
}

/**
 * New memory for `type`, owned by JS: from the tracked allocator, zeroed unless
 * `zero: false`, then initialised from `init` (a number, bigint or boolean for a scalar; an
 * array, or for byte arrays a string (NUL-terminated) or a typed array; an object of fields
 * for a struct; missing fields and elements stay zero).
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for a bad type, length or initialiser (nothing stays allocated), `OUT_OF_MEMORY`.
 * @throws {RangeError} for an initialiser longer than the array.
 *
 * @example A struct, an array of structs, a dynamic array
 * ```ts
 * import { alloc } from "./alloc.ts";
 * import { array, struct, types } from "./types.ts";
 * const Point = struct("Point", { x: types.i32, y: types.i32 });
 * using p = alloc(Point, { x: 1, y: 2 });
 * console.log(p.get("y")); // 2
 * using path = alloc(array(Point, 3), [{ x: 1, y: 1 }]);
 * console.log((path.get(2) as typeof p).value); // { x: 0, y: 0 }
 * using samples = alloc(array(types.f64), [0.5, 1.5]);
 * console.log(samples.length); // 2
 * ```
 */
export function alloc(type: CType, init?: Value, options: AllocOptions = noOptions): Pointer {
  return allocFrom(tracked, type, init, options);
}
