/**
 * {@linkcode Pointer}: a typed, bounds-checked view of memory, and everything derived from
 * it. Every pointer points into one block (memory from {@linkcode alloc}, a raw pointer given
 * an owner by `gc()`, a pinned JS buffer) whose owner is a registry wrapper that moves only by
 * the ownership transition table. Derived pointers (fields, elements, casts, `addressof`)
 * hold their block, so the owner cannot be collected while any of them lives, and they are
 * checked against the owner on every use: once it is released, each of them throws
 * `INVALID_OBJECT` before touching memory. cffi's dangling-pointer pitfall cannot happen.
 *
 * Every access is checked against the block's bounds first: an index or field outside the
 * type, or a type that does not fit in what is left of the block, throws RangeError and
 * reads or writes nothing. A value is checked whole before any of it is written: bad input
 * anywhere in a struct or an array writes nothing.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import { apply, keepAlive, type NativeObject, recordOf, use } from "../ownership/wrapper.ts";
import { takeDestructorError } from "./destructors.ts";
import type { ArrayType, CType, ScalarType, StructType } from "./types.ts";

/** The memory a pointer points into, shared by the pointer that owns it and all derived from it. */
export interface Block {
  /** The registry wrapper that owns the memory; null for memory custody knows nothing about. */
  readonly owner: NativeObject | null;
  readonly address: number;
  readonly byteLength: number;
  /** A pinned JS buffer: kept alive by the block, checked on every use. */
  readonly pinned: ArrayBufferView | undefined;
  /** How the block learns that its memory went away behind custody's back (a pinned buffer detached). */
  readonly loss: MemoryLoss | undefined;
  /** Ends when the owner's destructor is cancelled (the accounting of `gc()` size hints). */
  readonly onCancel: { end(): void } | undefined;
  view: DataView | undefined;
}

/**
 * Memory JS can take away behind custody's back (a pinned buffer detached by structuredClone).
 * A query only notices the loss; the first use after it reports it and ends the owner, so a
 * query never takes the report away from the use.
 */
export interface MemoryLoss {
  /** Whether the memory is gone (counted when first found). Never throws, and ends nothing. */
  lost(): boolean;
  /** Throws if the memory is gone and no use was told yet, ending the owner. */
  report(): void;
}

/** A JS value for a C value: numbers, booleans, bigints (64-bit integers), arrays, objects. */
export type Value = number | bigint | boolean | string | null | Pointer | ArrayBufferView | readonly Value[] | { readonly [field: string]: Value };

const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function rangeError(message: string): never {
  throw new RangeError(message);
}

function invalid(message: string): never {
  throw new CustodyError("INVALID_ARGUMENT", message);
}

/** Checks that the block is usable: its owner valid, a pinned buffer still whole. */
function verify(block: Block): void {
  if (block.owner !== null) use(block.owner);
  if (block.loss !== undefined) block.loss.report();
}

function dataView(block: Block): DataView {
  if (block.view !== undefined) return block.view;
  const pinned = block.pinned;
  block.view = pinned !== undefined
    ? new DataView(pinned.buffer, pinned.byteOffset, block.byteLength)
    : new DataView(block.byteLength === 0 ? new ArrayBuffer(0) : runtime.view(block.address, block.byteLength));
  return block.view;
}

/** The rule `cancelDestructor()` records on the owner it makes borrowed. */
const cancelRule = "cancelDestructor";

// Set by Pointer's static block: the only ways to make pointers and read their parts.
let makePointer: (block: Block, offset: number, type: CType, length: number, root: boolean) => Pointer;
let parts: (pointer: Pointer) => { block: Block; offset: number; type: CType; length: number; root: boolean };

/**
 * A typed pointer into a block of memory. Made by {@linkcode alloc}, `gc()`, `fromBuffer()`,
 * `cast()`, `addressof()`, and by its own {@linkcode Pointer.field}/{@linkcode Pointer.at}.
 * Pass it where a bound native function declares a `pointer` parameter.
 */
export class Pointer {
  readonly #block: Block;
  readonly #offset: number;
  readonly #type: CType;
  /** Elements of an array type (fixed or dynamic); 1 otherwise. */
  readonly #length: number;
  /** Whether this pointer owns the block (it came from alloc, gc or fromBuffer). */
  readonly #root: boolean;

  private constructor(block: Block, offset: number, type: CType, length: number, root: boolean) {
    this.#block = block;
    this.#offset = offset;
    this.#type = type;
    this.#length = length;
    this.#root = root;
  }

  static {
    makePointer = (block, offset, type, length, root) => {
      const extent = type.kind === "array" ? type.element.size * length : type.size;
      if (offset < 0 || offset + extent > block.byteLength) {
        rangeError(`Cannot view ${describeType(type, length)} at byte ${offset} of a block of ${block.byteLength} bytes: it does not fit`);
      }
      return new Pointer(block, offset, type, length, root);
    };
    parts = (pointer) => ({ block: pointer.#block, offset: pointer.#offset, type: pointer.#type, length: pointer.#length, root: pointer.#root });
  }

  /** The C type it points at. */
  get type(): CType {
    return this.#type;
  }

  /** How many elements an array has (1 for anything else). */
  get length(): number {
    return this.#length;
  }

  /** How many bytes it covers. */
  get byteLength(): number {
    return this.#type.kind === "array" ? this.#type.element.size * this.#length : this.#type.size;
  }

  /**
   * The native address.
   *
   * @throws {CustodyError} `INVALID_OBJECT` when its owner was released.
   */
  get address(): number {
    verify(this.#block);
    return this.#block.address + this.#offset;
  }

  /** Whether it may be used: its owner is valid and a pinned buffer is still whole. Never throws. */
  get isValid(): boolean {
    const block = this.#block;
    if (block.loss?.lost() === true) return false;
    return block.owner === null || block.owner.isValid;
  }

  /** Whether this pointer owns its memory (it can be released), rather than being derived. */
  get isOwner(): boolean {
    return this.#root;
  }

  /**
   * The ownership state of its owner, or `borrowed` for memory custody does not own; `invalid`
   * for a pinned buffer that lost its memory (as {@linkcode Pointer.isValid} says).
   */
  get state(): NativeObject["state"] {
    const block = this.#block;
    // The owner is still valid: the next use ends it, reporting the loss.
    if (block.loss?.lost() === true) return "invalid";
    return block.owner?.state ?? "borrowed";
  }

  /**
   * The whole value as JS: a scalar's number (bigint for 64-bit integers, boolean for `bool`),
   * an array's elements, a struct's fields as an object, a pointer's address.
   */
  get value(): Value {
    verify(this.#block);
    return readValue(dataView(this.#block), this.#offset, this.#type, this.#length);
  }

  /** Writes the whole value (see {@linkcode Pointer.set} for what each type takes). */
  set value(value: Value) {
    verify(this.#block);
    writeValue(this.#block, this.#offset, this.#type, this.#length, value);
  }

  /**
   * The value of a field (by name) or element (by index): a scalar as a JS value, a nested
   * struct or array as a derived pointer.
   *
   * @throws {RangeError} for an index outside the array or a field the struct lacks.
   * @throws {CustodyError} `INVALID_OBJECT` when the owner was released.
   */
  get(key: string | number): Value {
    const member = this.#member(key);
    if (member.type.kind === "struct" || member.type.kind === "array") return makePointer(this.#block, member.offset, member.type, member.length, false);
    verify(this.#block);
    return readScalarOrPointer(dataView(this.#block), member.offset, member.type);
  }

  /**
   * Writes a field or element. Integers take numbers (or bigints for 64-bit ones) in range,
   * `bool` takes booleans, floats numbers, pointers an address, null or a {@linkcode Pointer}
   * (the written-to memory then keeps that pointer's owner alive, until it is overwritten);
   * arrays take arrays (or, of bytes, a string or a typed array), structs objects. A value is
   * written whole or not at all: every element and field is checked before anything is written.
   *
   * @throws {RangeError} for an index outside the array or a field the struct lacks (in `key` or in `value`).
   * @throws {CustodyError} `INVALID_ARGUMENT` for a value of the wrong kind or out of range.
   */
  set(key: string | number, value: Value): void {
    const member = this.#member(key);
    verify(this.#block);
    writeValue(this.#block, member.offset, member.type, member.length, value);
  }

  /**
   * A derived pointer to a field or element, which keeps this pointer's owner alive and dies
   * with it.
   *
   * @throws {RangeError} for an index outside the array or a field the struct lacks.
   */
  field(key: string | number): Pointer {
    const member = this.#member(key);
    return makePointer(this.#block, member.offset, member.type, member.length, false);
  }

  /** {@linkcode Pointer.field} for an array element. */
  at(index: number): Pointer {
    return this.field(index);
  }

  #member(key: string | number): { offset: number; type: CType; length: number } {
    const type = this.#type;
    if (type.kind === "array") {
      if (typeof key !== "number" || !Number.isInteger(key) || key < 0 || key >= this.#length) {
        rangeError(`Index ${String(key)} is out of range for ${describeType(type, this.#length)}`);
      }
      const element = type.element;
      return { offset: this.#offset + key * element.size, type: element, length: lengthOf(element) };
    }
    if (type.kind === "struct") {
      const field = typeof key === "string" && Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
      if (field === undefined) rangeError(`${type.name} has no field ${JSON.stringify(key)}`);
      return { offset: this.#offset + field.offset, type: field.type, length: lengthOf(field.type) };
    }
    return rangeError(`${type.name} has no fields or elements: use .value`);
  }

  /**
   * Releases the memory now (runs its destructor). Only for the pointer that owns it.
   *
   * @throws {CustodyError} `NOT_OWNER` for a derived pointer, memory JS does not own, or memory
   * whose destructor was cancelled; `DOUBLE_RELEASE` when released before; `BUFFER_DETACHED` for
   * a pinned buffer that lost its memory behind custody's back and was not used since (the pin
   * ends all the same); or what a JS destructor threw.
   */
  release(): void {
    const owner = this.#ownerFor("release");
    this.#block.loss?.report();
    owner.release();
    const thrown = takeDestructorError();
    if (thrown !== undefined) throw thrown.error;
  }

  /** `using` support: releases the memory it owns; does nothing for a derived pointer; safe to call twice. */
  [Symbol.dispose](): void {
    if (!this.#root || this.#block.owner === null) return;
    this.#block.owner[Symbol.dispose]();
    const thrown = takeDestructorError();
    if (thrown !== undefined) throw thrown.error;
  }

  /**
   * Cancels the destructor: the memory stays usable, but custody will not free it (on release,
   * `using` or garbage collection); whoever holds it must. Only for the pointer that owns it,
   * and not for a pinned JS buffer, which has no destructor: `release()` unpins it.
   *
   * @throws {CustodyError} `NOT_OWNER` for a derived pointer, memory JS does not own, or a
   * destructor cancelled before; `BUFFER_PINNED` for a pinned buffer; `INVALID_OBJECT` when released.
   */
  cancelDestructor(): void {
    const owner = this.#ownerFor("cancel the destructor of");
    const block = this.#block;
    if (block.pinned !== undefined) {
      verify(block);
      throw new CustodyError("BUFFER_PINNED", `Cannot cancel the destructor of ${this.toString()}: it pins a JS buffer, which has no destructor; release() it to unpin the buffer`);
    }
    apply(owner, "disown", { event: "disown", by: "cancelDestructor()" }, { rule: cancelRule });
    block.onCancel?.end();
  }

  #ownerFor(action: string): NativeObject {
    const block = this.#block, owner = block.owner;
    if (owner !== null && this.#root) {
      // The table's refusal would say native code owns it; the caller should hear that it
      // cancelled the destructor, which the owner's record names as the rule that made it borrowed.
      const record = recordOf(owner);
      if (record.state === "borrowed" && record.rule === cancelRule) {
        throw new CustodyError("NOT_OWNER", `Cannot ${action} ${this.toString()}: its destructor was already cancelled, so custody no longer frees it`);
      }
      return owner;
    }
    if (owner !== null) verify(block);
    throw new CustodyError("NOT_OWNER", `Cannot ${action} ${this.toString()}: it is derived from the memory that owns it, which alone can be released`);
  }

  /** `i32[4] at 0x1000 (owned)`. */
  toString(): string {
    return `${describeType(this.#type, this.#length)} at 0x${(this.#block.address + this.#offset).toString(16)} (${this.isValid ? this.state : "invalid"})`;
  }
}


/** Makes the pointer that owns `block`. */
export function ownerPointer(block: Block, type: CType, length: number): Pointer {
  return makePointer(block, 0, type, length, true);
}

/** Makes a pointer to the start of `block` that does not own it (memory nobody in JS owns). */
export function viewPointer(block: Block, type: CType, length: number): Pointer {
  return makePointer(block, 0, type, length, false);
}

/**
 * A pointer derived from `base`, `byteOffset` bytes further, as `type`.
 *
 * @throws {RangeError} when it does not fit in what is left of the block.
 */
export function derive(base: Pointer, type: CType, byteOffset: number, length: number): Pointer {
  const { block, offset } = parts(base);
  verify(block);
  return makePointer(block, offset + byteOffset, type, length, false);
}

/** Where `pointer` points: its block and offset, for cast and string reads. */
export function locate(pointer: Pointer): { block: Block; offset: number; type: CType; length: number } {
  return parts(pointer);
}

/** Makes a block. */
export function block(fields: Omit<Block, "view" | "pinned" | "loss" | "onCancel"> & Partial<Pick<Block, "pinned" | "loss" | "onCancel">>): Block {
  // Spelled out: an object spread here cost a sixth of an alloc+release on Bun.
  return {
    owner: fields.owner,
    address: fields.address,
    byteLength: fields.byteLength,
    pinned: fields.pinned,
    loss: fields.loss,
    onCancel: fields.onCancel,
    view: undefined,
  };
}

/** Checks the block and returns a DataView of all of it. */
export function checkedView(pointer: Pointer): { view: DataView; offset: number; end: number } {
  const { block, offset } = parts(pointer);
  verify(block);
  return { view: dataView(block), offset, end: block.byteLength };
}

/**
 * The value for a `pointer` parameter of a bound native function: a {@linkcode Pointer}
 * becomes its address in the runtime's representation, after the same checks as any use;
 * anything else is passed on unchanged.
 *
 * @throws {CustodyError} `INVALID_OBJECT` when the pointer's owner was released.
 */
export function pointerArgument(value: unknown): unknown {
  if (!(value instanceof Pointer)) return value;
  const address = value.address;
  return pointerCache(value, address);
}

const natives = new WeakMap<Pointer, unknown>();
function pointerCache(pointer: Pointer, address: number): unknown {
  let native = natives.get(pointer);
  if (native === undefined) {
    native = runtime.nativePointer(address);
    natives.set(pointer, native);
  }
  return native;
}

/** The element count a type has on its own (1 for non-arrays). */
export function lengthOf(type: CType): number {
  return type.kind === "array" ? type.length ?? 0 : 1;
}

/** `i32[4]` for a dynamic `i32[]` of 4 elements. */
export function describeType(type: CType, length: number): string {
  return type.kind === "array" ? `${type.element.name}[${length}]` : type.name;
}

function readScalarOrPointer(view: DataView, at: number, type: CType): Value {
  if (type.kind === "pointer") return readAddress(view, at);
  return readScalar(view, at, type as ScalarType);
}

function readAddress(view: DataView, at: number): number {
  const low = view.getUint32(at + (little ? 0 : 4), little);
  const high = view.getUint32(at + (little ? 4 : 0), little);
  return high * 2 ** 32 + low;
}

function readScalar(view: DataView, at: number, type: ScalarType): number | bigint | boolean {
  switch (type.name) {
    case "bool":
      return view.getUint8(at) !== 0;
    case "char":
    case "u8":
      return view.getUint8(at);
    case "i8":
      return view.getInt8(at);
    case "i16":
      return view.getInt16(at, little);
    case "u16":
      return view.getUint16(at, little);
    case "i32":
      return view.getInt32(at, little);
    case "u32":
      return view.getUint32(at, little);
    case "i64":
      return view.getBigInt64(at, little);
    case "u64":
      return view.getBigUint64(at, little);
    case "usize":
      return readAddress(view, at);
    case "f32":
      return view.getFloat32(at, little);
    case "f64":
      return view.getFloat64(at, little);
  }
}

function readValue(view: DataView, at: number, type: CType, length: number): Value {
  switch (type.kind) {
    case "scalar":
      return readScalar(view, at, type);
    case "pointer":
      return readAddress(view, at);
    case "array":
      return Array.from({ length }, (_, i) => readValue(view, at + i * type.element.size, type.element, lengthOf(type.element)));
    case "struct": {
      const out: Record<string, Value> = {};
      for (const [name, field] of Object.entries(type.fields)) out[name] = readValue(view, at + field.offset, field.type, lengthOf(field.type));
      return out;
    }
  }
}

const integerRanges: Partial<Record<ScalarType["name"], readonly [number, number]>> = {
  char: [0, 0xFF],
  u8: [0, 0xFF],
  i8: [-0x80, 0x7F],
  i16: [-0x8000, 0x7FFF],
  u16: [0, 0xFFFF],
  i32: [-0x8000_0000, 0x7FFF_FFFF],
  u32: [0, 0xFFFF_FFFF],
  usize: [0, Number.MAX_SAFE_INTEGER],
};

function writeAddress(view: DataView, at: number, address: number): void {
  view.setUint32(at + (little ? 0 : 4), address % 2 ** 32, little);
  view.setUint32(at + (little ? 4 : 0), Math.floor(address / 2 ** 32), little);
}

function writeScalar(view: DataView, at: number, type: ScalarType, value: Value): void {
  const name = type.name;
  if (name === "bool") {
    if (typeof value !== "boolean") invalid(`Cannot write ${typeof value} to a bool: it takes true or false`);
    view.setUint8(at, value ? 1 : 0);
    return;
  }
  if (name === "f32" || name === "f64") {
    if (typeof value !== "number") invalid(`Cannot write ${typeof value} to ${name}: it takes a number`);
    if (name === "f32") view.setFloat32(at, value, little);
    else view.setFloat64(at, value, little);
    return;
  }
  if (name === "i64" || name === "u64") {
    if (typeof value !== "bigint" && !(typeof value === "number" && Number.isSafeInteger(value))) {
      invalid(`Cannot write ${String(value)} to ${name}: it takes a bigint or a safe integer`);
    }
    const big = BigInt(value);
    if (name === "i64" ? BigInt.asIntN(64, big) !== big : BigInt.asUintN(64, big) !== big) invalid(`Cannot write ${big} to ${name}: out of range`);
    if (name === "i64") view.setBigInt64(at, big, little);
    else view.setBigUint64(at, big, little);
    return;
  }
  const [low, high] = integerRanges[name]!;
  if (typeof value !== "number" || !Number.isInteger(value) || value < low || value > high) {
    invalid(`Cannot write ${String(value)} to ${name}: it takes an integer from ${low} to ${high}`);
  }
  switch (name) {
    case "char":
    case "u8":
      return view.setUint8(at, value);
    case "i8":
      return view.setInt8(at, value);
    case "i16":
      return view.setInt16(at, value, little);
    case "u16":
      return view.setUint16(at, value, little);
    case "i32":
      return view.setInt32(at, value, little);
    case "u32":
      return view.setUint32(at, value, little);
    default:
      return writeAddress(view, at, value);
  }
}

/**
 * Where each scalar of a whole value is checked, by {@linkcode writeScalar} itself (no second
 * copy of its checks); the bytes it wrote go to memory once the whole value passed.
 */
const scratch = new DataView(new ArrayBuffer(8));

/**
 * Writes the bytes of a scalar checked in the scratch: its first `size`, read as two 32-bit
 * words (the DataView's default byte order both ways, so the bytes come back as they were).
 */
function storeChecked(view: DataView, at: number, size: number, head: number, tail: number): void {
  switch (size) {
    case 1:
      return view.setUint8(at, head >>> 24);
    case 2:
      return view.setUint16(at, head >>> 16);
    case 4:
      return view.setUint32(at, head);
    default:
      view.setUint32(at, head);
      view.setUint32(at + 4, tail);
  }
}

/**
 * A part of a whole value, checked, ready to write: a scalar's bytes (see
 * {@linkcode storeChecked}); a pointer's address, with the block of the Pointer written if
 * there is one; all the bytes of a byte array, zero-padded (a copy, which the value's getters
 * cannot change any more).
 */
type Part =
  | { readonly kind: "scalar"; readonly at: number; readonly size: number; readonly head: number; readonly tail: number }
  | { readonly kind: "pointer"; readonly at: number; readonly address: number; readonly pointee: Block | undefined }
  | { readonly kind: "bytes"; readonly at: number; readonly bytes: Uint8Array };

/** Writes `value` as `type` at `at` in the block: a scalar is checked as it is written; anything else whole or not at all. */
function writeValue(block: Block, at: number, type: CType, length: number, value: Value): void {
  if (type.kind === "scalar") return writeScalar(dataView(block), at, type, value);
  writeWhole(block, at, type, length, value);
}

/**
 * {@linkcode writeValue} of anything but a scalar: every part of the value (each element and
 * field, at every level) is read once and checked, and written only once all of them passed,
 * so bad input anywhere in it changes nothing.
 */
function writeWhole(block: Block, at: number, type: CType, length: number, value: Value): void {
  const checked: Part[] = [];
  check(checked, block, at, type, length, value);
  // Reading the value may have run the caller's code (a getter, a proxy), which may have
  // released the memory, or a Pointer to write.
  verify(block);
  for (const part of checked) if (part.kind === "pointer" && part.pointee !== undefined) verify(part.pointee);
  const view = dataView(block);
  for (const part of checked) {
    if (part.kind === "scalar") storeChecked(view, part.at, part.size, part.head, part.tail);
    else if (part.kind === "bytes") new Uint8Array(view.buffer, view.byteOffset + part.at, part.bytes.length).set(part.bytes);
    else {
      writeAddress(view, part.at, part.address);
      // A Pointer written into owned memory is kept alive by it. The slot is keyed by the
      // field's position, so overwriting it lets the previous pointee go.
      if (block.owner !== null) keepAlive(block.owner, part.pointee?.owner ?? null, `pointer@${part.at}`, "set");
    }
  }
}

/** Reads `value` for `type` at `at`, checks each part of it, and lists them in `checked`. */
function check(checked: Part[], block: Block, at: number, type: CType, length: number, value: Value): void {
  switch (type.kind) {
    case "scalar":
      writeScalar(scratch, 0, type, value);
      checked.push({ kind: "scalar", at, size: type.size, head: scratch.getUint32(0), tail: scratch.getUint32(4) });
      return;
    case "pointer":
      return checkPointer(checked, block, at, value);
    case "array":
      return checkArray(checked, block, at, type, length, value);
    case "struct":
      return checkStruct(checked, block, at, type, value);
  }
}

function checkPointer(checked: Part[], block: Block, at: number, value: Value): void {
  if (value === null || (typeof value === "number" && Number.isSafeInteger(value) && value >= 0)) {
    checked.push({ kind: "pointer", at, address: value ?? 0, pointee: undefined });
    return;
  }
  if (!(value instanceof Pointer)) invalid(`Cannot write ${typeof value} to a pointer: it takes an address, null or a Pointer`);
  const pointee = parts(value).block;
  if (pointee.owner !== null && block.owner === null) {
    invalid(`Cannot store ${value.toString()} in memory custody does not own: nothing could keep it alive there`);
  }
  checked.push({ kind: "pointer", at, address: value.address, pointee });
}

function checkArray(checked: Part[], block: Block, at: number, type: ArrayType, length: number, value: Value): void {
  const element = type.element;
  const bytes = element.kind === "scalar" && element.size === 1 && element.name !== "bool";
  if (bytes && (typeof value === "string" || ArrayBuffer.isView(value))) {
    const source = typeof value === "string" ? new TextEncoder().encode(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    // A string keeps room for its terminating NUL.
    const needed = source.length + (typeof value === "string" ? 1 : 0);
    if (needed > length) rangeError(`Cannot write ${needed} bytes into ${describeType(type, length)}`);
    const all = new Uint8Array(length);
    all.set(source);
    checked.push({ kind: "bytes", at, bytes: all });
    return;
  }
  if (!Array.isArray(value)) invalid(`Cannot write ${typeof value} to ${describeType(type, length)}: it takes an array`);
  // Read once: a proxy could answer a second read with another length.
  const count = value.length;
  if (count > length) rangeError(`Cannot write ${count} elements into ${describeType(type, length)}`);
  for (let i = 0; i < count; i++) {
    // A hole leaves its element as it was.
    if (i in value) check(checked, block, at + i * element.size, element, lengthOf(element), value[i]);
  }
}

function checkStruct(checked: Part[], block: Block, at: number, type: StructType, value: Value): void {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Pointer || ArrayBuffer.isView(value)) {
    invalid(`Cannot write ${value === null ? "null" : typeof value} to ${type.name}: it takes an object of fields`);
  }
  for (const [name, item] of Object.entries(value as Record<string, Value>)) {
    const field = Object.hasOwn(type.fields, name) ? type.fields[name] : rangeError(`${type.name} has no field ${JSON.stringify(name)}`);
    check(checked, block, at + field.offset, field.type, lengthOf(field.type), item);
  }
}
