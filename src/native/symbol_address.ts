/**
 * The native address of a function in a library the process has loaded: what the registry
 * needs to run a destructor natively, on any thread, without calling into JS.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { native } from "./library.ts";
import { utf8 } from "./scratch.ts";

/**
 * The address of function `name` in the library loaded from `path`.
 *
 * @throws {CustodyError} `NOT_FOUND` when that library is not loaded or has no such function.
 *
 * @example The destructor of libcustody's own allocator
 * ```ts
 * import { symbolAddress } from "./symbol_address.ts";
 * import { libraryPath } from "./library.ts";
 * console.log(symbolAddress(libraryPath(), "custody_free") > 0); // true
 * ```
 */
export function symbolAddress(path: string, name: string): number {
  const address = native.custody_symbol_address(utf8(path).address, utf8(name).address);
  if (address === 0) throw new CustodyError("NOT_FOUND", `Cannot find function ${name} in ${path}: the library is not loaded or lacks it`);
  return address;
}
