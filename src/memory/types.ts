/**
 * C types as data, for {@linkcode alloc} and the views over memory: scalars, pointers,
 * arrays of fixed or dynamic length, and structs laid out with C's alignment rules (each
 * field at the next multiple of its alignment, the struct's size rounded up to its largest
 * alignment), the layout a C compiler for this 64-bit platform gives.
 *
 * @example A struct with a nested struct and an array of structs
 * ```ts
 * import { array, struct, types } from "./types.ts";
 * const Point = struct("Point", { x: types.i32, y: types.i32 });
 * const Shape = struct("Shape", { kind: types.u8, origin: Point, corners: array(Point, 4), area: types.f64 });
 * console.log(Shape.fields.origin.offset, Shape.fields.area.offset, Shape.size); // 4 48 56
 * ```
 *
 * @module
 */
import { CustodyError } from "../errors.ts";

/** The scalar types, by their C meaning; `char` is a byte of text, `usize` and pointers are addresses. */
export type ScalarName = "bool" | "char" | "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "usize" | "f32" | "f64";

/** A number, a boolean (`bool`) or a 64-bit integer as a bigint (`i64`, `u64`). */
export interface ScalarType {
  readonly kind: "scalar";
  readonly name: ScalarName;
  readonly size: number;
  readonly align: number;
}

/** A pointer: an address, 8 bytes. `to` is what it points at, or null for `void *`. */
export interface PointerType {
  readonly kind: "pointer";
  readonly name: string;
  readonly to: CType | null;
  readonly size: 8;
  readonly align: 8;
}

/** `length` elements of `element`; a dynamic array (`length` undefined) gets its length at allocation. */
export interface ArrayType {
  readonly kind: "array";
  readonly name: string;
  readonly element: CType;
  readonly length: number | undefined;
  /** The size of the whole array, or of one element for a dynamic array. */
  readonly size: number;
  readonly align: number;
}

/** Where a field of a struct lives. */
export interface StructField {
  readonly type: CType;
  readonly offset: number;
}

/** A C struct: named fields in declaration order. */
export interface StructType {
  readonly kind: "struct";
  readonly name: string;
  readonly fields: Readonly<Record<string, StructField>>;
  readonly size: number;
  readonly align: number;
}

/** Any C type custody can lay out. */
export type CType = ScalarType | PointerType | ArrayType | StructType;

const scalar = (name: ScalarName, size: number): ScalarType => Object.freeze({ kind: "scalar", name, size, align: size });

/**
 * The scalar types.
 *
 * @example
 * ```ts
 * import { types } from "./types.ts";
 * console.log(types.u16.size, types.f64.align); // 2 8
 * ```
 */
export const types = Object.freeze({
  bool: scalar("bool", 1),
  char: scalar("char", 1),
  i8: scalar("i8", 1),
  u8: scalar("u8", 1),
  i16: scalar("i16", 2),
  u16: scalar("u16", 2),
  i32: scalar("i32", 4),
  u32: scalar("u32", 4),
  i64: scalar("i64", 8),
  u64: scalar("u64", 8),
  usize: scalar("usize", 8),
  f32: scalar("f32", 4),
  f64: scalar("f64", 8),
});

function invalid(message: string): never {
  throw new CustodyError("INVALID_ARGUMENT", message);
}

/**
 * Returns `type` if it is a C type (one of {@linkcode types}, or made by {@linkcode pointer},
 * {@linkcode array} or {@linkcode struct}), for the functions that take one.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` otherwise, with `where` saying what was attempted.
 *
 * @example
 * ```ts
 * import { checkType, types } from "./types.ts";
 * console.log(checkType(types.i32, "Cannot cast") === types.i32); // true
 * try {
 *   checkType("i32", "Cannot cast");
 * } catch (error) {
 *   console.log((error as Error).message); // "Cannot cast: a value of type string is not a C type"
 * }
 * ```
 */
export function checkType(type: unknown, where: string): CType {
  const kind = (type as { kind?: unknown } | null)?.kind;
  if (kind !== "scalar" && kind !== "pointer" && kind !== "array" && kind !== "struct") {
    invalid(`${where}: ${type === null || type === undefined ? String(type) : `a value of type ${typeof type}`} is not a C type`);
  }
  return type as CType;
}

/**
 * A pointer type (`T *`); `pointer(null)` is `void *`.
 *
 * @example
 * ```ts
 * import { pointer, types } from "./types.ts";
 * console.log(pointer(types.i32).name, pointer(null).name); // "i32 *" "void *"
 * ```
 */
export function pointer(to: CType | null): PointerType {
  if (to !== null) checkType(to, "Cannot make a pointer type");
  return Object.freeze({ kind: "pointer", name: `${to?.name ?? "void"} *`, to, size: 8, align: 8 });
}

/**
 * An array type of `length` elements, or a dynamic array (`T[]`) without a length: its
 * length is given when it is allocated.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for a length that is not a non-negative integer, or a dynamic element type.
 *
 * @example
 * ```ts
 * import { array, types } from "./types.ts";
 * console.log(array(types.i32, 4).size, array(types.u8).name); // 16 "u8[]"
 * ```
 */
export function array(element: CType, length?: number): ArrayType {
  checkType(element, "Cannot make an array type");
  if (element.kind === "array" && element.length === undefined) invalid("Cannot make an array of dynamic arrays");
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    invalid(`Cannot make an array of ${String(length)} elements: the length must be a non-negative integer`);
  }
  const size = length === undefined ? element.size : element.size * length;
  return Object.freeze({ kind: "array", name: `${element.name}[${length ?? ""}]`, element, length, size, align: element.align });
}

/**
 * A struct type with the fields in the order given, laid out as C does.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for no fields, a field that is not a type, a dynamic array field,
 * or a field named `__proto__` (JS objects, which hold struct values, treat that key as their prototype).
 *
 * @example
 * ```ts
 * import { struct, types } from "./types.ts";
 * const Pair = struct("Pair", { tag: types.u8, value: types.f64 });
 * console.log(Pair.fields.value.offset, Pair.size, Pair.align); // 8 16 8
 * ```
 *
 * @example A field named `__proto__` is refused
 * ```ts
 * import { struct, types } from "./types.ts";
 * try {
 *   struct("Odd", { ["__proto__"]: types.i32 });
 * } catch (error) {
 *   console.log((error as { code: string }).code); // "INVALID_ARGUMENT"
 * }
 * ```
 */
export function struct(name: string, fields: Readonly<Record<string, CType>>): StructType {
  const laidOut: Record<string, StructField> = {};
  let offset = 0;
  let align = 1;
  for (const [field, type] of Object.entries(fields)) {
    // Values are read into and written from JS objects keyed by field name, where this key
    // sets the prototype instead: the field would vanish while its bytes stay reserved.
    if (field === "__proto__") invalid(`Cannot lay out ${name}.__proto__: a field cannot be named __proto__, the key that sets a JS object's prototype`);
    checkType(type, `Cannot lay out ${name}.${field}`);
    if (type.kind === "array" && type.length === undefined) invalid(`Cannot lay out ${name}.${field}: a dynamic array has no size`);
    offset = alignUp(offset, type.align);
    laidOut[field] = Object.freeze({ type, offset });
    offset += type.size;
    align = Math.max(align, type.align);
  }
  if (Object.keys(laidOut).length === 0) invalid(`Cannot lay out ${name}: a struct needs at least one field`);
  // Copied by a spread: built one keyed store at a time, a struct of more than a dozen fields
  // would be a slow dictionary in V8, and every field access looks its field up.
  return Object.freeze({ kind: "struct", name, fields: Object.freeze({ ...laidOut }), size: alignUp(offset, align), align });
}

/** `value` rounded up to a multiple of `align` (a power of two). */
export function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}
