/**
 * `fromBuffer(view)`: a pointer into JS memory for native code, which pins the buffer while
 * it lives: the buffer cannot be garbage collected, and the ways JS has to pull the memory
 * away are refused or reported.
 *
 * Measured on Deno 2.9.6 and Bun 1.4.5 alike: a resizable ArrayBuffer keeps its address when
 * it grows or shrinks (its maximum is reserved up front), so growing is harmless; shrinking
 * below the pinned bytes is refused. `transfer()` and `transferToFixedLength()` detach the
 * buffer, and moved the memory when the length changed: refused for a pinned buffer, by a
 * guard custody installs on `ArrayBuffer.prototype` at the first pin. A transfer that does not
 * go through the prototype (`structuredClone` or `postMessage` with a transfer list) cannot
 * be stopped from JS: the detached buffer is reported at the pin's next use or `release()`,
 * which throws `BUFFER_DETACHED` instead of touching the memory, and ends the pin. It counts in
 * `stats().pinViolations` once, whatever notices it first: that use, a query (`isValid`,
 * `toString()`, which leave the report to the next use), the garbage collector, a new pin of
 * the address.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import { apply, attach, type Attachment, attachment, borrow, type NativeObject, objectType, type ObjectType, own } from "../ownership/wrapper.ts";
import * as registry from "../registry.ts";
import { memoryCounters } from "./accounting.ts";
import { block, type MemoryLoss, ownerPointer, type Pointer } from "./pointer.ts";
import { array, type CType, types } from "./types.ts";

/** The registry's type name of pinned JS buffers. */
export const pinnedTypeName = "custody.buffer";

let pinType: ObjectType | undefined;
const pinnedType = () => pinType ??= objectType(pinnedTypeName);

/** For each pinned buffer, the end of the furthest pinned byte of each live pin. */
const pins = new WeakMap<ArrayBufferLike, Map<object, number>>();

function pinnedEnd(buffer: ArrayBufferLike): number {
  let end = -1;
  for (const e of pins.get(buffer)?.values() ?? []) end = Math.max(end, e);
  return end;
}

let guarded = false;

function refuse(action: string): never {
  throw new CustodyError("BUFFER_PINNED", `Cannot ${action} the ArrayBuffer: custody pinned it for native code; release the pointer from fromBuffer() first`);
}

/**
 * A length argument as the engine's ToIndex converts it (undefined and NaN are 0), short of its
 * range check, which the engine makes (a RangeError). The guards convert it once, before they
 * check, and give the method the number: converted again, an object's `valueOf` could answer
 * something else, or pin the buffer after the check.
 */
function toIndex(length: unknown): number {
  return Math.trunc(+(length as number)) || 0;
}

/** Wraps the prototype methods that detach or shrink a buffer, once, to refuse it for pinned buffers. */
function guard(): void {
  if (guarded) return;
  guarded = true;
  const prototype = ArrayBuffer.prototype as ArrayBuffer & Record<string, unknown>;
  for (const name of ["transfer", "transferToFixedLength"] as const) {
    const original = prototype[name] as ((this: ArrayBuffer, length?: number) => ArrayBuffer) | undefined;
    if (typeof original !== "function") continue;
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: function (this: ArrayBuffer, length?: unknown) {
        // No length keeps the buffer's own.
        const index = length === undefined ? undefined : toIndex(length);
        if (pinnedEnd(this) >= 0) refuse(name);
        return original.call(this, index);
      },
    });
  }
  const resize = prototype.resize as ((this: ArrayBuffer, length: number) => void) | undefined;
  if (typeof resize === "function") {
    Object.defineProperty(prototype, "resize", {
      configurable: true,
      writable: true,
      value: function (this: ArrayBuffer, length: unknown) {
        const index = toIndex(length);
        if (index >= 0 && index < pinnedEnd(this)) refuse(`shrink to ${index} bytes`);
        return resize.call(this, index);
      },
    });
  }
}

/**
 * A pin's hold on its buffer, attached to the pin's owner: counted while it lives, and able to
 * tell whether the buffer still has the memory. It holds no closure: one made in `fromBuffer`
 * would share its scope, which holds the owner, and the owner's internals hold their
 * attachments strongly, so the owner could never be collected (the fuzz campaign found pins
 * that never were).
 */
class PinHold implements Attachment {
  readonly #buffer: ArrayBufferLike;
  /** The end of the furthest byte the pin covers. */
  readonly #end: number;
  readonly #key = {};
  #closed = false;
  /** The buffer lost the pinned memory while pinned, and it was counted. */
  #lost = false;
  /** The loss was reported (`BUFFER_DETACHED`), or the pin ended without a caller to report it to. */
  #reported = false;

  constructor(buffer: ArrayBufferLike, end: number) {
    this.#buffer = buffer;
    this.#end = end;
    memoryCounters.pinnedBuffers++;
    if (!pins.has(buffer)) pins.set(buffer, new Map());
    pins.get(buffer)!.set(this.#key, end);
  }

  /**
   * Whether the memory went away behind custody's back while pinned: the buffer was detached,
   * or shrunk below the pin. Counted in `pinViolations` when first found, whoever looks.
   */
  lost(): boolean {
    if (this.#lost || this.#closed) return this.#lost;
    const buffer = this.#buffer as ArrayBuffer;
    if (buffer.detached !== true && buffer.byteLength >= this.#end) return false;
    this.#lost = true;
    memoryCounters.pinViolations++;
    return true;
  }

  /** Whether the memory went away and this is the first use since, to report it; later uses find the pin ended. */
  takeReport(): boolean {
    if (this.#reported || !this.lost()) return false;
    this.#reported = true;
    return true;
  }

  close(): void {
    if (this.#closed) return;
    // A pin that ends with its memory gone (disposed, collected, superseded by a new pin)
    // counts too; its later uses find it ended, as after any end.
    if (this.lost()) this.#reported = true;
    this.#closed = true;
    memoryCounters.pinnedBuffers--;
    pins.get(this.#buffer)?.delete(this.#key);
  }
}

/** Ends a pin whose buffer lost its memory, as native code ends an object it destroyed. */
function endLostPin(owner: NativeObject): void {
  apply(owner, "nativeDestroyed", { event: "nativeDestroyed", by: "the pinned buffer was detached or shrunk" }, { rule: "fromBuffer" });
}

/**
 * Ends the pin that holds the registry entry refusing `address` if its buffer was detached
 * behind custody's back (by structuredClone or postMessage) and not used since: it pins nothing
 * any more, and the engine may have given its memory to another buffer, or to native code.
 * It ends as its next use would have ended it; returns whether it did.
 */
function endedLostPin(address: number): boolean {
  // borrow() hands back the wrapper custody holds for the entry that refused the address.
  const previous = borrow(pinnedType(), address);
  const hold = attachment(previous, "pin");
  if (!(hold instanceof PinHold) || !hold.lost()) return false;
  endLostPin(previous);
  return true;
}

/**
 * Owns `address` for a new pin; a lost pin of that address ends (see {@linkcode endedLostPin})
 * and the new pin takes the address. Looked at only when the address is refused.
 */
function ownPinned(address: number): NativeObject {
  try {
    return own(pinnedType(), address);
  } catch (error) {
    if (!(error instanceof CustodyError) || error.code !== "ALREADY_OWNED" || !endedLostPin(address)) throw error;
    return own(pinnedType(), address);
  }
}

/**
 * Whether a pin holds `address`: the memory of a live JS buffer, which nothing else may own. A
 * lost pin of that address holds nothing any more: it ends (see {@linkcode endedLostPin}).
 */
export function isPinned(address: number): boolean {
  return registry.find(address, pinnedType().nameId) !== undefined && !endedLostPin(address);
}

/** Options of {@linkcode fromBuffer}. */
export interface FromBufferOptions {
  /** The type to view the bytes as; default an array of the view's elements (see {@linkcode fromBuffer}). */
  readonly type?: CType;
}

const elementTypes: Readonly<Record<string, CType>> = {
  Int8Array: types.i8,
  Uint8Array: types.u8,
  Uint8ClampedArray: types.u8,
  Int16Array: types.i16,
  Uint16Array: types.u16,
  Int32Array: types.i32,
  Uint32Array: types.u32,
  Float32Array: types.f32,
  Float64Array: types.f64,
  BigInt64Array: types.i64,
  BigUint64Array: types.u64,
};

/**
 * The name of a typed array's built-in class, from the engine's own record of it (the
 * `%TypedArray%.prototype[Symbol.toStringTag]` getter): a subclass's name, or a prototype
 * changed since, says nothing of its elements. Undefined for a DataView.
 */
const typedArrayName = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get as (
  this: ArrayBufferView,
) => string | undefined;

/**
 * A pointer to the memory of `view`, pinned: `view` is kept alive while the pointer (or
 * anything derived from it) lives, its buffer cannot be transferred or shrunk below the view,
 * and native code can be given the address. `release()` (or `using`) unpins it. Unless
 * `options.type` says otherwise, it is an array of the view's elements: of its built-in class's
 * C type for a subclass, of bytes for a DataView, and for a Float16Array, as C has no standard
 * 16-bit float.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for an empty or detached view, `ALREADY_OWNED`
 * when a pin of the same address is live. A pin of that address whose buffer was detached
 * behind custody's back (its memory moved to `view` by structuredClone, or freed and reused)
 * is not: it ends, as its next use would have ended it, and counts in `stats().pinViolations`.
 *
 * @example Native code may hold the address; the buffer cannot go away meanwhile
 * ```ts
 * import { fromBuffer } from "./buffer.ts";
 * const samples = new Float64Array(8);
 * using pinned = fromBuffer(samples);
 * pinned.set(3, 1.5);
 * console.log(samples[3], pinned.length); // 1.5 8
 * try {
 *   samples.buffer.transfer();
 * } catch (error) {
 *   console.log((error as { code: string }).code); // "BUFFER_PINNED"
 * }
 * ```
 */
export function fromBuffer(view: ArrayBufferView, options: FromBufferOptions = {}): Pointer {
  if (!ArrayBuffer.isView(view)) throw new CustodyError("INVALID_ARGUMENT", "Cannot pin: fromBuffer takes a typed array or a DataView");
  const buffer = view.buffer;
  if ((buffer as ArrayBuffer).detached === true || view.byteLength === 0) {
    throw new CustodyError("INVALID_ARGUMENT", "Cannot pin an empty or detached buffer: it has no memory to point at");
  }
  const byteLength = view.byteLength;
  const type = options.type ?? array(elementTypes[typedArrayName.call(view) ?? ""] ?? types.u8);
  const length = type.kind === "array" ? type.length ?? Math.floor(byteLength / type.element.size) : 1;
  const address = runtime.addressOf(view);
  const owner = ownPinned(address);
  guard();
  const hold = new PinHold(buffer, view.byteOffset + byteLength);
  attach(owner, "pin", hold);
  const loss: MemoryLoss = {
    lost: () => hold.lost(),
    report: () => {
      if (!hold.takeReport()) return;
      endLostPin(owner);
      throw new CustodyError("BUFFER_DETACHED", `Cannot use the pinned buffer at 0x${address.toString(16)}: it was detached or shrunk behind custody's back (transferred by structuredClone or postMessage?)`);
    },
  };
  try {
    return ownerPointer(block({ owner, address, byteLength, pinned: view, loss }), type, length);
  } catch (error) {
    owner.release();
    throw error;
  }
}
