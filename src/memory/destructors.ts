/**
 * JS functions as the registry's destructors. One native trampoline serves every JS
 * destructor: the registry calls it with the object's pointer and a context that names the
 * JS function, so a JS destructor runs exactly when, and as often as, the registry runs a
 * native one: once, on release, `using`, or garbage collection, never after a cancel.
 *
 * The trampoline is an ordinary (not thread-safe) callback: objects with a JS destructor
 * must be destroyed on the JS thread. An exception thrown by a JS destructor never unwinds
 * through native code; it is kept and rethrown by the `release()` that ran it (a destructor
 * run by the garbage collector has no caller, so its exception is only counted).
 *
 * @module
 */
import { runtime } from "../ffi/mod.ts";

interface Registered {
  readonly fn: (pointer: number) => void;
  /** Forgotten after its first run (one object's destructor), or kept (an allocator's `free`). */
  readonly once: boolean;
}

const registered = new Map<number, Registered>();
let nextContext = 1;
let pending: { error: unknown } | undefined;
let failures = 0;

const trampoline = runtime.callback({ parameters: ["pointer", "pointer"], result: "void" }, (pointer, context) => {
  const entry = registered.get(context);
  if (entry === undefined) return;
  if (entry.once) registered.delete(context);
  try {
    entry.fn(pointer);
  } catch (error) {
    failures++;
    pending ??= { error };
  }
});

/** The native address of the trampoline, the destructor the registry is given. */
export const trampolineAddress: number = trampoline.pointer;

/** Registers `fn`; returns the context to give the registry along with {@linkcode trampolineAddress}. */
export function registerDestructor(fn: (pointer: number) => void, once: boolean): number {
  const context = nextContext++;
  registered.set(context, { fn, once });
  return context;
}

/** Forgets a destructor that must not run any more (cancelled, or its object died another way). */
export function forgetDestructor(context: number): void {
  registered.delete(context);
}

/**
 * Forgets it once the current job is done: for the attachment that drops the destructor of
 * an object that died without it. The garbage collector's path closes attachments before it
 * destroys the object, so forgetting at once would lose the destructor it is about to run.
 */
export function forgetDestructorLater(context: number): void {
  queueMicrotask(() => registered.delete(context));
}

/** The exception a JS destructor threw since the last call, taken once. */
export function takeDestructorError(): { error: unknown } | undefined {
  const taken = pending;
  pending = undefined;
  return taken;
}

/** How many JS destructors threw, over the life of the process. */
export function destructorFailures(): number {
  return failures;
}

/** How many JS destructors wait for their object to die. */
export function pendingDestructors(): number {
  return registered.size;
}
