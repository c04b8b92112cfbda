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
 * be stopped from JS: the detached buffer is reported at the pin's next use, which throws
 * `BUFFER_DETACHED` (and counts in `stats().pinViolations`) instead of touching the memory.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import { apply, attach, type Attachment, attachment, borrow, type NativeObject, objectType, type ObjectType, own } from "../ownership/wrapper.ts";
import { memoryCounters } from "./accounting.ts";
import { block, ownerPointer, type Pointer } from "./pointer.ts";
import { array, type CType, types } from "./types.ts";

/** The registry's type name of pinned JS buffers. */
export const pinnedTypeName = "custody.buffer";

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

/** Wraps the prototype methods that detach or shrink a buffer, once, to refuse it for pinned buffers. */
function guard(): void {
  if (guarded) return;
  guarded = true;
  const prototype = ArrayBuffer.prototype as ArrayBuffer & Record<string, unknown>;
  for (const name of ["transfer", "transferToFixedLength"] as const) {
    const original = prototype[name] as ((this: ArrayBuffer, ...args: unknown[]) => ArrayBuffer) | undefined;
    if (typeof original !== "function") continue;
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: function (this: ArrayBuffer, ...args: unknown[]) {
        if (pinnedEnd(this) >= 0) refuse(name);
        return original.apply(this, args);
      },
    });
  }
  const resize = prototype.resize as ((this: ArrayBuffer, length: number) => void) | undefined;
  if (typeof resize === "function") {
    Object.defineProperty(prototype, "resize", {
      configurable: true,
      writable: true,
      value: function (this: ArrayBuffer, length: number) {
        if (Number(length) < pinnedEnd(this)) refuse(`shrink to ${length} bytes`);
        return resize.call(this, length);
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

  constructor(buffer: ArrayBufferLike, end: number) {
    this.#buffer = buffer;
    this.#end = end;
    memoryCounters.pinnedBuffers++;
    if (!pins.has(buffer)) pins.set(buffer, new Map());
    pins.get(buffer)!.set(this.#key, end);
  }

  /** The memory went away behind custody's back: the buffer was detached, or shrunk below the pin. */
  get lost(): boolean {
    const buffer = this.#buffer as ArrayBuffer;
    return buffer.detached === true || buffer.byteLength < this.#end;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    memoryCounters.pinnedBuffers--;
    pins.get(this.#buffer)?.delete(this.#key);
  }
}

/** Ends a pin whose buffer lost its memory, as native code ends an object it destroyed; counted in `pinViolations`. */
function endLostPin(owner: NativeObject): void {
  memoryCounters.pinViolations++;
  apply(owner, "nativeDestroyed", { event: "nativeDestroyed", by: "the pinned buffer was detached or shrunk" }, { rule: "fromBuffer" });
}

/**
 * Owns `address` for a new pin. A pin of that address that custody still holds, whose buffer
 * was detached behind its back (by structuredClone or postMessage) and not used since, pins
 * nothing any more, and the engine may have given its memory to the new buffer: it ends as its
 * next use would have ended it, and the new pin takes the address. Looked at only when the
 * address is refused.
 */
function ownPinned(type: ObjectType, address: number): NativeObject {
  try {
    return own(type, address);
  } catch (error) {
    if (!(error instanceof CustodyError) || error.code !== "ALREADY_OWNED") throw error;
    // borrow() hands back the wrapper custody holds for the entry that refused the address.
    const previous = borrow(type, address);
    const hold = attachment(previous, "pin");
    if (!(hold instanceof PinHold) || !hold.lost) throw error;
    endLostPin(previous);
    return own(type, address);
  }
}

/** Options of {@linkcode fromBuffer}. */
export interface FromBufferOptions {
  /** The type to view the bytes as; default the typed array's own element type as an array (bytes for a DataView). */
  readonly type?: CType;
}

const elementTypes: Record<string, CType> = {
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
 * A pointer to the memory of `view`, pinned: `view` is kept alive while the pointer (or
 * anything derived from it) lives, its buffer cannot be transferred or shrunk below the view,
 * and native code can be given the address. `release()` (or `using`) unpins it.
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
  const type = options.type ?? array(elementTypes[view.constructor.name] ?? types.u8);
  const length = type.kind === "array" ? type.length ?? Math.floor(byteLength / type.element.size) : 1;
  const address = runtime.addressOf(view);
  const owner = ownPinned(objectType(pinnedTypeName), address);
  guard();
  const hold = new PinHold(buffer, view.byteOffset + byteLength);
  attach(owner, "pin", hold);
  const verify = () => {
    if (!hold.lost) return;
    endLostPin(owner);
    throw new CustodyError("BUFFER_DETACHED", `Cannot use the pinned buffer at 0x${address.toString(16)}: it was detached or shrunk behind custody's back (transferred by structuredClone or postMessage?)`);
  };
  try {
    return ownerPointer(block({ owner, address, byteLength, pinned: view, verify }), type, length);
  } catch (error) {
    owner.release();
    throw error;
  }
}
