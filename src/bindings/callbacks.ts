/**
 * JS functions given to native code as callbacks, with their lifetimes owned.
 *
 * - Object arguments are borrowed for the call: their wrappers become invalid when the
 *   callback returns (Shiboken's invalidate-after-use), unless the callback `retain()`s
 *   them. An argument custody already held keeps its own state.
 * - A callback is closed when the object it is bound to dies, or by `closeCallback()`. A close
 *   while native code may still be running it waits until the outermost native call has
 *   returned: freeing a trampoline from inside it, or while the native function that called
 *   it is still on the stack (and may call it again), crashes the runtime.
 * - An exception thrown by the callback does not unwind through native code: it is kept and
 *   rethrown to the JS caller of the native function once that returns.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import type { NativeCallback, NativeType } from "../ffi/types.ts";
import { apply, type Attachment, borrow, type NativeObject, type ObjectType, recordOf } from "../ownership/wrapper.ts";
import type { CallbackDeclaration } from "./declaration.ts";

/** A callback custody created: closing is deferred while it runs. */
export class ManagedCallback implements Attachment {
  readonly #native: NativeCallback;
  #running = 0;
  #closing = false;
  #closed = false;

  constructor(native: NativeCallback) {
    this.#native = native;
    open.add(this);
  }

  /** The address native code calls. */
  get pointer(): number {
    return this.#native.pointer;
  }

  /** Marks a call in progress; returns the function that marks its end. */
  enter(): () => void {
    this.#running++;
    return () => this.#running--;
  }

  /** Closes it, now if no native code can be running it, else once none can. Idempotent. */
  close(): void {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    pendingCloses.add(this);
    if (nativeDepth === 0 && this.#running === 0) flushCloses();
    else scheduleFlush();
  }

  /** Frees the trampoline if it was asked to close and nothing runs it. */
  finishIfIdle(): boolean {
    if (!this.#closing || this.#running > 0) return false;
    this.#closed = true;
    this.#closing = false;
    open.delete(this);
    this.#native.close();
    return true;
  }
}

const pendingCloses = new Set<ManagedCallback>();
let nativeDepth = 0;
let flushScheduled = false;

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  // Microtasks run once the JS stack is empty, so no native frame can be running a callback.
  queueMicrotask(() => {
    flushScheduled = false;
    flushCloses();
  });
}

function flushCloses(): void {
  if (nativeDepth > 0) return;
  for (const callback of pendingCloses) if (callback.finishIfIdle()) pendingCloses.delete(callback);
}

/**
 * Marks the start of a native call; pair with {@linkcode leaveNative} in a `finally`. Callbacks
 * closed meanwhile are freed only after the outermost native call has returned.
 */
export function enterNative(): void {
  nativeDepth++;
}

/**
 * Whether a native call must be bracketed by {@linkcode enterNative} and
 * {@linkcode leaveNative}: JS can run during a call only through an open custody callback.
 */
export function callbacksOpen(): boolean {
  return open.size > 0 || nativeDepth > 0;
}

/** Marks the end of a native call; frees the callbacks whose close waited for it. */
export function leaveNative(): void {
  nativeDepth--;
  if (nativeDepth === 0 && pendingCloses.size > 0) flushCloses();
}

const open = new Set<ManagedCallback>();
const retained = new WeakSet<NativeObject>();
const unbound = new Map<(...args: never[]) => unknown, ManagedCallback[]>();
let pendingError: { error: unknown } | undefined;

/**
 * Keeps a callback's object argument valid after the callback returns: for objects native
 * code keeps alive beyond the call.
 *
 * @throws {CustodyError} `INVALID_OBJECT` when the object is already invalid.
 */
export function retain(object: NativeObject): void {
  apply(object, "retain", { event: "retain", by: "retain()" }, { rule: "retain" });
  retained.add(object);
}

/**
 * Closes every callback made from `fn` that is not bound to an object (bound ones close with
 * their object). Returns how many it closed.
 */
export function closeCallback(fn: (...args: never[]) => unknown): number {
  const callbacks = unbound.get(fn) ?? [];
  unbound.delete(fn);
  for (const callback of callbacks) callback.close();
  return callbacks.length;
}

/** How many callbacks are open: a leak report counts them. */
export function openCallbacks(): number {
  return open.size;
}

/** The error a callback threw during the last native call, taken once. */
export function takeCallbackError(): { error: unknown } | undefined {
  const taken = pendingError;
  pendingError = undefined;
  return taken;
}

const defaults: Partial<Record<NativeType, number | boolean | undefined>> = { void: undefined, bool: false };

/** Makes a native callback of `fn` as `declaration` says. */
export function makeCallback(
  declaration: CallbackDeclaration,
  fn: (...args: unknown[]) => unknown,
  types: Readonly<Record<string, ObjectType>>,
  bound: boolean,
): ManagedCallback {
  if (typeof fn !== "function") throw new CustodyError("INVALID_ARGUMENT", `A callback must be a function, not ${typeof fn}`);
  const parameters = declaration.parameters.map((p) => typeof p === "string" ? p : "pointer" as const);
  const fallback = declaration.result in defaults ? defaults[declaration.result] : 0;
  let managed: ManagedCallback | undefined = undefined;
  const native = runtime.callback({ parameters, result: declaration.result, threadSafe: declaration.threadSafe ?? false }, (...raw) => {
    const leave = managed!.enter();
    const borrowed: NativeObject[] = [];
    try {
      const args = raw.map((value, i) => {
        const p = declaration.parameters[i];
        if (typeof p === "string") return value;
        if (value === 0) return null;
        const object = borrow(types[p.object], value);
        if (recordOf(object).state === "borrowed") borrowed.push(object);
        return object;
      });
      return fn(...args) as number | boolean | void;
    } catch (error) {
      pendingError ??= { error };
      return fallback as number | boolean | void;
    } finally {
      // Nothing may be thrown from here into native code.
      try {
        for (const object of borrowed) {
          if (retained.has(object) || recordOf(object).state !== "borrowed") continue;
          apply(object, "callbackReturned", { event: "callbackReturned", by: "invalidate-after-use" }, { rule: "invalidate-after-use" });
        }
      } catch (error) {
        pendingError ??= { error };
      }
      leave();
    }
  });
  managed = new ManagedCallback(native);
  if (!bound) unbound.set(fn, [...(unbound.get(fn) ?? []), managed]);
  return managed;
}
