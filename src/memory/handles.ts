/**
 * `newHandle(value)` / `fromHandle(address)`: a `void *` that stands for a JS value, for
 * native code to carry around and give back (a callback's context), as cffi's
 * `ffi.new_handle`/`ffi.from_handle`. cffi calls `from_handle` on a dead handle undefined
 * behaviour; here each handle is a registry entry at an address that is never issued twice,
 * so a handle that was released (or collected) can never be mistaken for a newer one:
 * `fromHandle` throws `STALE_HANDLE`.
 *
 * @module
 */
import { checkAddress } from "../address.ts";
import { CustodyError } from "../errors.ts";
import { attach, objectType, own } from "../ownership/wrapper.ts";
import * as registry from "../registry.ts";
import { block, ownerPointer, type Pointer } from "./pointer.ts";
import { array, types } from "./types.ts";

/** The registry's type name of handles. */
export const handleTypeName = "custody.handle";

const values = new Map<number, unknown>();
// Addresses in a range no allocator hands out (the top of the 53-bit space), 16 apart, never
// reused: a released handle's address never comes back.
let nextAddress = 2 ** 52;

/**
 * A handle for `value`: the returned pointer's `address` is the `void *` to give native code.
 * The handle (and so `value`) lives until it is released or collected; keep it while native
 * code may give the address back.
 *
 * @example
 * ```ts
 * import { fromHandle, newHandle } from "./handles.ts";
 * const handle = newHandle({ name: "listener" });
 * console.log(fromHandle(handle.address)); // { name: "listener" }
 * handle.release();
 * // fromHandle(the same address) now throws STALE_HANDLE
 * ```
 */
export function newHandle(value: unknown): Pointer {
  const address = nextAddress;
  nextAddress += 16;
  const owner = own(objectType(handleTypeName), address);
  values.set(address, value);
  attach(owner, "handle", { close: () => values.delete(address) });
  return ownerPointer(block({ owner, address, byteLength: 0 }), array(types.u8, 0), 0);
}

/**
 * The value a live handle stands for.
 *
 * @throws {CustodyError} `STALE_HANDLE` when the handle was released or collected, or never issued.
 */
export function fromHandle(address: number): unknown {
  checkAddress(address, "Cannot resolve a handle");
  const live = registry.find(address, registry.typeName(handleTypeName));
  if (live === undefined || !values.has(address)) {
    throw new CustodyError("STALE_HANDLE", `Cannot resolve handle 0x${address.toString(16)}: it was released, collected, or never issued`);
  }
  return values.get(address);
}
