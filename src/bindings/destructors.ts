/**
 * Destructors written in JS: for native objects whose destruction needs JS (closing a JS
 * resource that mirrors them, bookkeeping) or a declaration that cleans up in JS.
 *
 * - A destructor that throws does not fail the destruction: the object is invalid anyway,
 *   the error is reported once as unraisable (see `unraisable.ts`), and `release()`,
 *   `using` and the garbage collector never throw it, so an exception already on its way up
 *   is never replaced.
 * - It runs on the JS thread that made it. The registry runs destructors on whatever
 *   thread destroys an object (a native thread that notifies custody of a parent's death
 *   destroys the children there), so a call from another thread is queued and runs at this
 *   thread's next drain: it must run on this thread, and the native caller need not wait.
 *
 * @module
 */
import { runtime } from "../ffi/mod.ts";
import { type Gate, openGate } from "./gates.ts";
import { reportUnraisable } from "./unraisable.ts";

/** A JS destructor as the registry calls it: `void (*)(void *object, void *context)`. */
export interface JsDestructor {
  /** The address to register as the destructor. */
  readonly pointer: number;
  /** Frees it; objects still registered with it must not be destroyed afterwards. */
  close(): void;
}

/**
 * Makes `destroy` callable as a native destructor for objects of `typeName`.
 *
 * @example
 * ```ts
 * import { jsDestructor } from "./destructors.ts";
 * import { create, destroy } from "../registry.ts";
 * const freed: number[] = [];
 * const destructor = jsDestructor("Texture", (address) => freed.push(address));
 * destroy(create(0x5000, { destructor: destructor.pointer }));
 * console.log(freed); // [20480]
 * destructor.close();
 * ```
 */
export function jsDestructor(typeName: string, destroy: (address: number, context: number) => void): JsDestructor {
  const callback = runtime.callback({ parameters: ["pointer", "pointer"], result: "void" }, (address, context) => {
    try {
      destroy(address, context);
    } catch (error) {
      reportUnraisable(error, `the destructor of ${typeName} at 0x${address.toString(16)}`);
    }
  });
  let gate: Gate;
  try {
    gate = openGate(callback.pointer, "queue", 0);
  } catch (error) {
    callback.close();
    throw error;
  }
  return {
    pointer: gate.pointer,
    close() {
      gate.close();
      callback.close();
    },
  };
}
