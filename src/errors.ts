/**
 * The one error class custody throws for misuse, with a stable `code`.
 *
 * @module
 */

/** Every code a {@linkcode CustodyError} can carry. */
export type ErrorCode =
  // Statuses of the native core (`zig/src/status.zig`).
  | "STALE_HANDLE"
  | "FORGED_HANDLE"
  | "NAME_MISMATCH"
  | "CYCLE"
  | "TABLE_FULL"
  | "NULL_POINTER"
  | "OUT_OF_MEMORY"
  | "NOT_FOUND"
  | "NOT_KEPT_ALIVE"
  | "INVALID_ARGUMENT"
  | "ALREADY_INITIALIZED"
  | "NAME_TOO_LONG"
  | "ALREADY_REGISTERED"
  | "ALREADY_OWNED"
  // The ownership state machine (`src/ownership/transitions.ts`).
  | "INVALID_OBJECT"
  | "NOT_OWNER"
  | "DOUBLE_RELEASE"
  | "KEPT_ALIVE"
  // Bindings: callbacks and allocations.
  | "WRONG_THREAD"
  | "FOREIGN_MEMORY"
  // The memory API (`src/memory/`).
  | "BUFFER_PINNED"
  | "BUFFER_DETACHED";

const descriptions: Record<ErrorCode, string> = {
  STALE_HANDLE: "the handle's object was already destroyed",
  FORGED_HANDLE: "the handle was never issued by the registry",
  NAME_MISMATCH: "the name does not match the one the capsule was created with",
  CYCLE: "the new parent is the object itself or one of its descendants",
  TABLE_FULL: "the registry has no free slot left",
  NULL_POINTER: "a null pointer was given where an object is required",
  OUT_OF_MEMORY: "native memory is exhausted",
  NOT_FOUND: "no live object is registered at that address",
  NOT_KEPT_ALIVE: "the object holds no keep-alive to drop",
  INVALID_ARGUMENT: "an argument is out of range",
  ALREADY_INITIALIZED: "the registry is already in use with another capacity",
  NAME_TOO_LONG: "the name is longer than 4096 bytes",
  ALREADY_REGISTERED: "a live entry already exists for that address and type",
  INVALID_OBJECT: "the object is no longer valid",
  NOT_OWNER: "JS does not own the object",
  DOUBLE_RELEASE: "the object was already released",
  KEPT_ALIVE: "a keep-alive holds the object for another one: it cannot be given away",
  ALREADY_OWNED: "another owner already holds or destroys that object",
  WRONG_THREAD: "a callback that is not thread-safe was called from another thread",
  FOREIGN_MEMORY: "the memory does not come from the allocator the type declares",
  BUFFER_PINNED: "the buffer is pinned for native code",
  BUFFER_DETACHED: "the pinned buffer was detached or shrunk",
};

/**
 * Thrown for every misuse custody detects, before any native code runs on the bad input.
 *
 * @example Telling errors apart by code
 * ```ts
 * import { CustodyError } from "./errors.ts";
 * try {
 *   throw new CustodyError("STALE_HANDLE", "Cannot destroy capsule 3:5: the handle's object was already destroyed");
 * } catch (error) {
 *   if (error instanceof CustodyError && error.code === "STALE_HANDLE") console.log("already gone");
 * }
 * ```
 */
export class CustodyError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CustodyError";
    this.code = code;
  }
}

/** The error for a native status code, with `action` saying what was attempted. */
export function statusError(code: ErrorCode, action: string): CustodyError {
  return new CustodyError(code, `${action}: ${descriptions[code]}`);
}
