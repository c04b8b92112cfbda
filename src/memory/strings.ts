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
import { array, type CType, types } from "./types.ts";

const decoder = new TextDecoder();

function checkMaxLength(maxLength: number | undefined): void {
  if (maxLength !== undefined && (!Number.isSafeInteger(maxLength) || maxLength < 0)) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot read a string of at most ${String(maxLength)} bytes: the limit must be a non-negative integer`);
  }
}

/** Whether `type` is an array of bytes as C stores text in (`char name[16]`), which bounds a string read from it. */
function isByteArray(type: CType): boolean {
  if (type.kind !== "array" || type.element.kind !== "scalar") return false;
  const element = type.element.name;
  return element === "char" || element === "u8" || element === "i8";
}

/**
 * The UTF-8 string at `source`, up to its first NUL byte or `maxLength` bytes, whichever
 * comes first. From a {@linkcode Pointer} the read never passes the end of its block (a
 * string without a NUL ends there), nor, for a pointer typed as an array of `char`, `u8` or
 * `i8` (a `char name[16]` field), the end of that array, as cffi's `ffi.string` stops there;
 * a pointer to a single byte reads on to the first NUL in the block. From a raw address,
 * custody cannot know the bounds: give `maxLength` unless the string is known to be
 * NUL-terminated.
 *
 * @throws {CustodyError} `INVALID_OBJECT` when the pointer's owner was released, `NULL_POINTER` for address 0.
 *
 * @example
 * ```ts
 * import { newString, string } from "./strings.ts";
 * using text = newString("héllo");
 * console.log(string(text), string(text, 2)); // "héllo" "h\uFFFD"
 * ```
 *
 * @example A full `char[4]` field ends with the field, not at the next field's NUL
 * ```ts
 * import { alloc } from "./alloc.ts";
 * import { string } from "./strings.ts";
 * import { array, struct, types } from "./types.ts";
 * const Entry = struct("Entry", { tag: array(types.char, 4), rest: array(types.char, 8) });
 * using entry = alloc(Entry, { tag: new TextEncoder().encode("abcd"), rest: "XYZ" });
 * console.log(string(entry.field("tag")), string(entry.field("tag").at(1))); // "abcd" "bcdXYZ"
 * ```
 */
export function string(source: Pointer | number, maxLength?: number): string {
  checkMaxLength(maxLength);
  if (source instanceof Pointer) {
    const { view, offset, end } = checkedView(source);
    const limit = Math.min(isByteArray(source.type) ? source.byteLength : end - offset, maxLength ?? Infinity);
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
