/**
 * Strings between JS and native memory: `string()` reads a NUL-terminated UTF-8 string,
 * within the bounds custody knows; `newString()` makes one native code can read.
 *
 * @module
 */
import { checkAddress } from "../address.ts";
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import { alloc, type AllocOptions } from "./alloc.ts";
import { checkedView, Pointer } from "./pointer.ts";
import { array, types } from "./types.ts";

const decoder = new TextDecoder();

function checkMaxLength(maxLength: number | undefined): void {
  if (maxLength !== undefined && (!Number.isSafeInteger(maxLength) || maxLength < 0)) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot read a string of at most ${String(maxLength)} bytes: the limit must be a non-negative integer`);
  }
}

/**
 * The UTF-8 string at `source`, up to its first NUL byte or `maxLength` bytes, whichever
 * comes first. From a {@linkcode Pointer} the read never passes the end of its block (a
 * string without a NUL ends there). From a raw address, custody cannot know the bounds:
 * give `maxLength` unless the string is known to be NUL-terminated.
 *
 * @throws {CustodyError} `INVALID_OBJECT` when the pointer's owner was released, `NULL_POINTER` for address 0.
 *
 * @example
 * ```ts
 * import { newString, string } from "./strings.ts";
 * using text = newString("héllo");
 * console.log(string(text), string(text, 2)); // "héllo" "h\uFFFD"
 * ```
 */
export function string(source: Pointer | number, maxLength?: number): string {
  checkMaxLength(maxLength);
  if (source instanceof Pointer) {
    const { view, offset, end } = checkedView(source);
    const limit = Math.min(end - offset, maxLength ?? Infinity);
    const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, limit);
    const nul = bytes.indexOf(0);
    return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  }
  const address = checkAddress(source, "Cannot read a string");
  if (address === 0) throw new CustodyError("NULL_POINTER", "Cannot read a string at address 0");
  if (maxLength === undefined) return runtime.cString(address);
  if (maxLength === 0) return "";
  const bytes = new Uint8Array(runtime.view(address, maxLength));
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/**
 * A new NUL-terminated UTF-8 copy of `text` in native memory, owned by JS like any
 * {@linkcode alloc}: pass it where a bound function takes a `const char *`.
 *
 * @example
 * ```ts
 * import { newString } from "./strings.ts";
 * using title = newString("custody");
 * console.log(title.length); // 8: seven bytes and the NUL
 * ```
 */
export function newString(text: string, options: Omit<AllocOptions, "length" | "zero"> = {}): Pointer {
  if (typeof text !== "string") throw new CustodyError("INVALID_ARGUMENT", `Cannot make a string of ${typeof text}`);
  return alloc(array(types.char), text, options);
}
