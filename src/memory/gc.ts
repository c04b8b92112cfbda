/**
 * `gc(pointer, destructor, {size})`: gives a raw pointer an owner and a destructor, like
 * cffi's `ffi.gc`. The destructor, a native function address or a JS function, runs exactly
 * once: on `release()`, at the end of a `using` scope, or when the garbage collector finds the
 * returned pointer (and everything derived from it) unreachable. `cancelDestructor()` cancels
 * it. The size hint counts toward `stats()` (`gcLiveCount`, `gcLiveBytes`) while the object
 * is owned.
 *
 * @module
 */
import { checkAddress } from "../address.ts";
import { CustodyError } from "../errors.ts";
import { attach, handleOf, objectType, own } from "../ownership/wrapper.ts";
import * as registry from "../registry.ts";
import { Counted, memoryCounters } from "./accounting.ts";
import { memoryTypeName } from "./alloc.ts";
import { isPinned } from "./buffer.ts";
import { forgetDestructor, forgetDestructorLater, registerDestructor, trampolineAddress } from "./destructors.ts";
import { handleTypeName } from "./handles.ts";
import { block, locate, ownerPointer, Pointer } from "./pointer.ts";
import { array, type CType, types } from "./types.ts";

/** Options of {@linkcode gc}. */
export interface GcOptions {
  /** How many bytes the pointer owns: counted in the stats, and the bounds of the returned view. Default 0. */
  readonly size?: number;
  /** The type to view the memory as; default `u8[size]`. Must fit in `size` when both are given. */
  readonly type?: CType;
}

/**
 * A destructor: the address of a native `void destroy(void *pointer)`, or a JS function. Custody
 * holds a JS one until its pointer's owner ends, so it must not refer to that pointer (or to
 * anything holding it): it would keep the pointer from ever being collected. It is given the address.
 */
export type Destructor = number | ((address: number) => void);

/**
 * Gives the raw pointer `pointer` an owner whose destructor is `destructor`, and returns the
 * owning {@linkcode Pointer}.
 *
 * @throws {CustodyError} `NULL_POINTER` for address 0, `ALREADY_OWNED` when custody already
 * owns that memory, whoever owns it (`alloc`, `gc`, a custom allocator, a `fromBuffer` pin, a
 * handle): two owners for one pointer are refused; `INVALID_ARGUMENT` for a bad size, type or
 * destructor.
 * @throws {RangeError} when `type` is larger than `size`.
 *
 * @example A native buffer freed by a JS destructor, exactly once
 * ```ts
 * import { allocator } from "../../mod.ts";
 * import { gc } from "./gc.ts";
 * const raw = allocator.malloc(64);
 * let freed = 0;
 * const owned = gc(raw, (address) => { allocator.free(address); freed++; }, { size: 64 });
 * owned.release();
 * owned[Symbol.dispose](); // nothing more: already released
 * console.log(freed); // 1
 * ```
 */
export function gc(pointer: Pointer | number, destructor: Destructor, options: GcOptions = {}): Pointer {
  const address = addressOf(pointer);
  const size = options.size ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) throw new CustodyError("INVALID_ARGUMENT", `Cannot own 0x${address.toString(16)}: the size hint must be a non-negative integer`);
  const type = options.type ?? array(types.u8, size);
  const length = type.kind === "array" ? type.length ?? Math.floor(size / type.element.size) : 1;
  const byteLength = Math.max(size, type.kind === "array" ? type.element.size * length : type.size);
  if (options.size !== undefined && byteLength > size) throw new RangeError(`Cannot view ${size} bytes as ${type.name}: it does not fit`);
  refuseOtherOwners(address);
  let owner;
  let context = 0;
  if (typeof destructor === "function") {
    owner = own(objectType(memoryTypeName, { destructor: trampolineAddress }), address);
    context = registerDestructor(destructor, true);
    registry.setDestructor(handleOf(owner), trampolineAddress, context);
    attach(owner, "gc:destructor", { close: () => forgetDestructorLater(context) });
  } else {
    owner = own(objectType(memoryTypeName, { destructor: checkAddress(destructor, "Cannot own a pointer with that destructor") }), address);
  }
  const counted = new Counted(() => {
    memoryCounters.gcLiveCount++;
    memoryCounters.gcLiveBytes += size;
  }, () => {
    memoryCounters.gcLiveCount--;
    memoryCounters.gcLiveBytes -= size;
  });
  attach(owner, "gc:size", counted);
  const onCancel = { end: () => (counted.end(), context === 0 || forgetDestructor(context)) };
  return ownerPointer(block({ owner, address, byteLength, onCancel }), type, length);
}

/**
 * Refuses an address the memory API's owners of other type names hold: own() refuses one
 * under the memory type name (alloc, gc, custom allocators), and only that one.
 */
function refuseOtherOwners(address: number): void {
  let holder;
  if (isPinned(address)) holder = "a pinned JS buffer";
  else if (registry.find(address, registry.typeName(handleTypeName)) !== undefined) holder = "a handle";
  else return;
  throw new CustodyError("ALREADY_OWNED", `Cannot own 0x${address.toString(16)}: custody already holds it as ${holder}`);
}

function addressOf(pointer: Pointer | number): number {
  if (pointer instanceof Pointer) {
    if (locate(pointer).block.owner !== null) {
      throw new CustodyError("ALREADY_OWNED", `Cannot give ${pointer.toString()} another owner: custody already owns that memory`);
    }
    pointer = pointer.address;
  }
  const address = checkAddress(pointer, "Cannot own a pointer");
  if (address === 0) throw new CustodyError("NULL_POINTER", "Cannot own address 0");
  return address;
}
