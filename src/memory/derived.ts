/**
 * Derived pointers: `cast` and `addressof`. A pointer derived from memory custody owns points
 * into the same block and holds it, so the owner lives as long as any pointer derived from
 * it, and every one of them is invalid the moment the owner is released. The cffi pitfall
 * `ffi.cast("B *", ffi.new("A *"))`, a cast left pointing at freed memory, cannot happen.
 *
 * @module
 */
import { checkAddress } from "../address.ts";
import { CustodyError } from "../errors.ts";
import { block, derive, locate, Pointer, viewPointer } from "./pointer.ts";
import { checkType, type CType } from "./types.ts";

/** Options of {@linkcode cast}. */
export interface CastOptions {
  /** The length of a dynamic array type; default: as many elements as fit (from a Pointer). */
  readonly length?: number;
}

function elements(type: CType, room: number, options: CastOptions): number {
  if (type.kind !== "array") return 1;
  const length = options.length ?? type.length ?? Math.floor(room / type.element.size);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot cast to ${type.name} of length ${String(length)}: it must be a non-negative integer`);
  }
  return length;
}

/**
 * Views the memory of `source` as `type`. From a {@linkcode Pointer}: a derived pointer at
 * the same address, which keeps the owner alive and dies with it; `type` must fit in what is
 * left of the block. From a raw address: a pointer to memory custody knows nothing about
 * (nobody owns it, so it is never freed, and it is only as safe as the address is).
 *
 * @throws {RangeError} when `type` does not fit in the block.
 * @throws {CustodyError} `INVALID_ARGUMENT` when `type` is not a C type, `INVALID_OBJECT` when
 * the source's owner was released, `NULL_POINTER` for address 0.
 *
 * @example Reading an int's bytes; the cast dies with the int
 * ```ts
 * import { alloc } from "./alloc.ts";
 * import { cast } from "./derived.ts";
 * import { array, types } from "./types.ts";
 * const n = alloc(types.u32, 0x01020304);
 * const bytes = cast(array(types.u8), n);
 * console.log(bytes.length); // 4
 * n.release();
 * console.log(bytes.isValid); // false: bytes.value would throw INVALID_OBJECT
 * ```
 *
 * @example The type is checked: a type's name is not a type
 * ```ts
 * import { alloc } from "./alloc.ts";
 * import { cast } from "./derived.ts";
 * import { types } from "./types.ts";
 * using n = alloc(types.u32);
 * try {
 *   cast("u8" as never, n);
 * } catch (error) {
 *   console.log((error as { code: string }).code); // "INVALID_ARGUMENT"
 * }
 * ```
 */
export function cast(type: CType, source: Pointer | number, options: CastOptions = {}): Pointer {
  checkType(type, "Cannot cast");
  if (source instanceof Pointer) {
    const { block: b, offset } = locate(source);
    return derive(source, type, 0, elements(type, b.byteLength - offset, options));
  }
  const address = checkAddress(source, `Cannot cast to ${type.name}`);
  if (address === 0) throw new CustodyError("NULL_POINTER", `Cannot cast address 0 to ${type.name}`);
  if (type.kind === "array" && type.length === undefined && options.length === undefined) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot cast a raw address to ${type.name}: give its length`);
  }
  const length = elements(type, 0, options);
  const byteLength = type.kind === "array" ? type.element.size * length : type.size;
  return viewPointer(block({ owner: null, address, byteLength }), type, length);
}

/**
 * A pointer to a member of `base`: `addressof(p, "origin", "x")` is `&p->origin.x`,
 * `addressof(p, "corners", 2)` is `&p->corners[2]`; with no path, a derived pointer to `base`
 * itself. It keeps the owner alive and dies with it.
 *
 * @throws {RangeError} for a field the struct lacks or an index outside the array.
 * @throws {CustodyError} `INVALID_ARGUMENT` when `base` is not a {@linkcode Pointer},
 * `INVALID_OBJECT` when the owner was released.
 *
 * @example
 * ```ts
 * import { alloc } from "./alloc.ts";
 * import { addressof } from "./derived.ts";
 * import { array, struct, types } from "./types.ts";
 * const Point = struct("Point", { x: types.i32, y: types.i32 });
 * using shape = alloc(struct("Shape", { corners: array(Point, 4) }));
 * const y = addressof(shape, "corners", 2, "y");
 * y.value = 7;
 * console.log(y.address - shape.address); // 20
 * ```
 */
export function addressof(base: Pointer, ...path: (string | number)[]): Pointer {
  if (!(base instanceof Pointer)) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot take the address of a member of ${base === null ? "null" : `a value of type ${typeof base}`}: it takes a Pointer (cast a raw address to its type first)`);
  }
  let pointer = derive(base, base.type, 0, base.length);
  for (const key of path) pointer = pointer.field(key);
  return pointer;
}
