/**
 * Turns libcustody's status codes into {@linkcode CustodyError}s. The names come from the
 * library (`custody_status_name`), so a code added natively needs no table here.
 *
 * @module
 */
import { runtime } from "../ffi/mod.ts";
import { type ErrorCode, statusError } from "../errors.ts";
import { native } from "./library.ts";

const names = new Map<number, ErrorCode>();

/** The error code of a native status. */
export function codeOf(status: number): ErrorCode {
  let code = names.get(status);
  if (code === undefined) {
    code = runtime.cString(native.custody_status_name(status)) as ErrorCode;
    names.set(status, code);
  }
  return code;
}

/**
 * Throws the error for `status` unless it is success (zero or positive). A message that
 * needs formatting is passed as a function: it is built only on failure, because building
 * it on every call cost more than the native call it reports on.
 */
export function check(status: number, action: string | (() => string)): void {
  if (status < 0) throw statusError(codeOf(status), typeof action === "string" ? action : action());
}
