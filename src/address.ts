/**
 * Validation of the numbers custody passes to native code as addresses and ids, so that a
 * bad value is a {@linkcode CustodyError} before any native call, the same in both
 * runtimes (Deno would throw a RangeError for some and Bun coerce others silently).
 *
 * @module
 */
import { CustodyError } from "./errors.ts";

/**
 * Returns `value` if it can be a native address: a non-negative integer below 2^53.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` otherwise, with `action` saying what was attempted.
 *
 * @example
 * ```ts
 * import { checkAddress } from "./address.ts";
 * checkAddress(0x1000, "Cannot free"); // 4096
 * ```
 */
export function checkAddress(value: number, action: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CustodyError("INVALID_ARGUMENT", `${action}: ${String(value)} is not an address (a non-negative integer below 2^53)`);
  }
  return value;
}

/**
 * Returns `value` if it is a 32-bit unsigned integer (a name id, a tag, an owner code).
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` otherwise.
 *
 * @example
 * ```ts
 * import { checkU32 } from "./address.ts";
 * checkU32(7, "Cannot set the owner"); // 7
 * ```
 */
export function checkU32(value: number, action: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xFFFF_FFFF) {
    throw new CustodyError("INVALID_ARGUMENT", `${action}: ${String(value)} is not a 32-bit unsigned integer`);
  }
  return value;
}
