/**
 * JS functions given to native code as callbacks, with their lifetimes owned.
 *
 * - Object arguments are borrowed for the call: the wrappers an argument introduces become
 *   invalid when the callback returns (Shiboken's invalidate-after-use), unless the callback
 *   `retain()`s them. A wrapper JS already held before the call keeps its own state.
 * - Native code never gets the runtime's callback, but a gate in front of it (see
 *   `gates.ts`): called from a foreign native thread, a callback declared `threadSafe` runs
 *   on the JS thread while the native caller waits for its result; any other callback is
 *   not run, the native caller gets the fallback result (0 or false), and the JS caller of
 *   the native function that was running gets a `WRONG_THREAD` error. Never a crash.
 * - A callback is closed when the object it is bound to dies, or by `closeCallback()`. A close
 *   while native code may still be running it waits until the outermost native call has
 *   returned: freeing a trampoline from inside it, or while the native function that called
 *   it is still on the stack (and may call it again), crashes the runtime. Once closed, its
 *   gate answers every later call with the fallback: a stale native pointer never reaches JS.
 * - An exception thrown by the callback does not unwind through native code: it is kept and
 *   rethrown to the JS caller of the native function once that returns; with no such caller
 *   (a queued call from another thread) it is reported once as unraisable.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import type { NativeCallback, NativeType } from "../ffi/types.ts";
import { permitted } from "../ownership/machine.ts";
import { apply, type Attachment, borrowIntroduced, type NativeObject, type ObjectType, recordOf } from "../ownership/wrapper.ts";
import type { CallbackDeclaration } from "./declaration.ts";
import { foreignThreadError, type Gate, openGate, refusedCalls } from "./gates.ts";
import { reportUnraisable } from "./unraisable.ts";

/** A callback custody created: closing is deferred while it runs. */
export class ManagedCallback implements Attachment {
  #native: NativeCallback | undefined;
  #gate: Gate | undefined;
  /** The JS function, until closed: `closeCallback(fn)` finds it by this. */
  #fn: ((...args: never[]) => unknown) | undefined;
  readonly #describe: () => string;
  readonly #refusing: boolean;
  #running = 0;
  #closing = false;
  #closed = false;

  constructor(native: NativeCallback, gate: Gate, fn: (...args: never[]) => unknown, refusing: boolean, describe: () => string) {
    this.#native = native;
    this.#gate = gate;
    this.#fn = fn;
    this.#refusing = refusing;
    this.#describe = describe;
    if (refusing) refusingOpen++;
    open.add(this);
    openCount = open.size;
  }

  /** The address native code calls: the gate's. */
  get pointer(): number {
    return this.#gate?.pointer ?? 0;
  }

  /** Whether it was made from `fn` and is still open. */
  madeFrom(fn: (...args: never[]) => unknown): boolean {
    return this.#fn === fn && !this.#closing && !this.#closed;
  }

  /** What it is, for a leak report: the function and what it is bound to. */
  describe(): string {
    return this.#describe();
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

  /** Closes the gate only, so that nothing reaches JS any more (at exit). */
  shutGate(): void {
    this.#gate?.close();
  }

  /**
   * Frees the trampoline if it was asked to close and nothing runs it, and lets go of the
   * function, so that what the function captured (often the very object the callback is
   * bound to) can be collected.
   */
  finishIfIdle(): boolean {
    if (!this.#closing || this.#running > 0) return false;
    this.#closed = true;
    this.#closing = false;
    open.delete(this);
    openCount = open.size;
    if (this.#refusing) refusingOpen--;
    this.#gate?.close();
    this.#native?.close();
    this.#gate = undefined;
    this.#native = undefined;
    this.#fn = undefined;
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
  return openCount > 0 || nativeDepth > 0;
}

/** Marks the end of a native call; frees the callbacks whose close waited for it. */
export function leaveNative(): void {
  nativeDepth--;
  if (nativeDepth === 0 && pendingCloses.size > 0) flushCloses();
}

const open = new Set<ManagedCallback>();
/** `open.size`, kept in a plain variable: every checked call reads it. */
let openCount = 0;
const retained = new WeakSet<NativeObject>();
let pendingError: { error: unknown } | undefined;
/** Open callbacks whose gates refuse foreign threads, and the refusals already reported. */
let refusingOpen = 0;
let refusalsSeen = refusedCalls();

// After exit nothing may reach JS: a native thread that calls a callback then gets its fallback.
runtime.onExit(() => {
  for (const callback of open) callback.shutGate();
});

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
 * Closes every callback made from `fn`, bound to an object or not (bound ones also close
 * with their object). Returns how many it closed. Closing the callback breaks the cycle of
 * a function that captured the object it is bound to, which otherwise keeps both alive.
 */
export function closeCallback(fn: (...args: never[]) => unknown): number {
  const made = [...open].filter((callback) => callback.madeFrom(fn));
  for (const callback of made) callback.close();
  return made.length;
}

/** How many callbacks are open: a leak report counts them. */
export function openCallbacks(): number {
  return open.size;
}

/** What each open callback is, for a leak report. */
export function describeOpenCallbacks(): string[] {
  return [...open].map((callback) => callback.describe());
}

/**
 * The error a callback threw during the last native call, taken once; or a `WRONG_THREAD`
 * error when a gate refused a call from a foreign thread since the last check.
 */
export function takeCallbackError(): { error: unknown } | undefined {
  if (refusingOpen > 0) {
    const refused = refusedCalls();
    if (refused !== refusalsSeen) {
      pendingError ??= { error: foreignThreadError(refused - refusalsSeen) };
      refusalsSeen = refused;
    }
  }
  const taken = pendingError;
  pendingError = undefined;
  return taken;
}

const defaults: Partial<Record<NativeType, number | boolean | undefined>> = { void: undefined, bool: false };
/** What passes a gate: integers and pointers, at most six of them. */
const gateable = new Set<NativeType>(["void", "bool", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "usize", "pointer", "function"]);

/**
 * Makes a native callback of `fn` as `declaration` says. `boundTo` is the object it is
 * bound to, if any; `origin` names the function it was passed to, for leak reports.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` when `fn` is not a function, or the shape has
 * floating-point values or more than six parameters (a gate passes neither).
 */
export function makeCallback(
  declaration: CallbackDeclaration,
  fn: (...args: unknown[]) => unknown,
  types: Readonly<Record<string, ObjectType>>,
  boundTo: NativeObject | undefined,
  origin = "a native function",
): ManagedCallback {
  if (typeof fn !== "function") throw new CustodyError("INVALID_ARGUMENT", `A callback must be a function, not ${typeof fn}`);
  const parameters = declaration.parameters.map((p) => typeof p === "string" ? p : "pointer" as const);
  if (parameters.length > 6 || ![...parameters, declaration.result].every((t) => gateable.has(t))) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot make a callback for ${origin}: only up to six integer or pointer parameters and an integer, pointer or void result pass custody's thread gate`);
  }
  const fallback = declaration.result in defaults ? defaults[declaration.result] : 0;
  let managed: ManagedCallback | undefined = undefined;
  const native = runtime.callback({ parameters, result: declaration.result, threadSafe: false }, (...raw) => {
    const leave = managed!.enter();
    const introduced: NativeObject[] = [];
    try {
      const args = raw.map((value, i) => {
        const p = declaration.parameters[i];
        if (typeof p === "string") return value;
        if (value === 0) return null;
        const { object, introduced: isNew } = borrowIntroduced(types[p.object], value);
        if (isNew) introduced.push(object);
        return object;
      });
      return fn(...args) as number | boolean | void;
    } catch (error) {
      // Inside a bound call the error goes to its caller; from a drained queue, nobody called.
      if (nativeDepth > 0) pendingError ??= { error };
      else reportUnraisable(error, `the callback ${fn.name || "(anonymous)"} passed to ${origin}`);
      return fallback as number | boolean | void;
    } finally {
      // Nothing may be thrown from here into native code.
      try {
        for (const object of introduced) {
          // Whatever the callback made of it (released, stolen, given a parent) the table decides:
          // an object the event would leave where it is (or that it refuses) is left alone.
          const record = recordOf(object);
          const outcome = permitted(record, "callbackReturned");
          if (retained.has(object) || outcome === undefined || outcome.to === record.state) continue;
          apply(object, "callbackReturned", { event: "callbackReturned", by: "invalidate-after-use" }, { rule: "invalidate-after-use" });
        }
      } catch (error) {
        pendingError ??= { error };
      }
      leave();
    }
  });
  let gate: Gate;
  try {
    gate = openGate(native.pointer, declaration.threadSafe ? "wait" : "refuse", Number(fallback ?? 0));
  } catch (error) {
    native.close();
    throw error;
  }
  managed = new ManagedCallback(native, gate, fn, !declaration.threadSafe, describer(fn.name, origin, boundTo));
  return managed;
}

/**
 * The description of a callback, made outside `makeCallback`: a closure made there would
 * share its scope, which holds the function, and keep whatever it captured alive after close.
 */
function describer(name: string, origin: string, boundTo: NativeObject | undefined): () => string {
  // A weak reference: the report must not keep the owner alive.
  const owner = boundTo === undefined ? undefined : new WeakRef(boundTo);
  const bound = () => owner === undefined ? "" : `, bound to ${owner.deref() ?? "an object already collected"}`;
  return () => `callback ${name || "(anonymous)"} passed to ${origin}${bound()}`;
}
