/**
 * The declaration a binding is made from: the native library's object types, and for each
 * function its parameters and result, each saying what happens to ownership. One form for
 * both runtimes.
 *
 * @example A window that owns widgets
 * ```ts
 * import type { Declaration } from "./declaration.ts";
 * const declaration = {
 *   types: {
 *     Window: { destructor: "wg_window_destroy" },
 *     Widget: { destructor: "wg_widget_destroy" },
 *   },
 *   functions: {
 *     wg_window_new: { parameters: ["pointer", "usize"], result: { object: "Window", ownership: "own" } },
 *     wg_window_add_child: {
 *       parameters: [{ object: "Window" }, { object: "Widget", stealInto: 0 }],
 *       result: "i32",
 *     },
 *   },
 * } as const satisfies Declaration;
 * ```
 *
 * @module
 */
import type { NativeType } from "../ffi/types.ts";

/** A native object type of the library. */
export interface TypeDeclaration {
  /**
   * The library function that destroys an object of this type: `void destroy(T *)`; or a
   * JS function, run on the JS thread (see `destructors.ts`: a throw is reported, never thrown).
   */
  readonly destructor?: string | ((address: number) => void);
  /**
   * The objects are blocks of custody's tracked allocator allocated under this tag: an owned
   * result, or an argument a call takes or destroys, that is anything else is refused
   * (`FOREIGN_MEMORY`) before the call.
   */
  readonly allocationTag?: string;
  /**
   * Native code reports the destruction of these objects to custody
   * (`custody_notify_destroyed_address`), so a safe steal may leave the wrapper valid.
   */
  readonly notifiesDestruction?: boolean;
}

/** An object parameter, with what the call does to its ownership. Default: borrowed for the call. */
export interface ObjectParameter<TypeName extends string = string> {
  readonly object: TypeName;
  /** The parameter's name in the C prototype; the parent-constructor heuristic looks for `parent`. */
  readonly name?: string;
  /** The bulk rule that set this parameter's hint, shown by `dump()`; set by `bind()`. */
  readonly rule?: string;
  /**
   * The function takes ownership: `"always"`, `"onSuccess"` (only when the call succeeds,
   * see {@linkcode FunctionDeclaration.succeeded}), or `"safe"` for types that notify their
   * destruction (the wrapper stays valid until native code reports it destroyed).
   */
  readonly steal?: "always" | "onSuccess" | "safe";
  /** The function makes this argument a child of argument `stealInto` (its owner from now on). */
  readonly stealInto?: number;
  /** The function destroys this argument: the wrapper is invalid afterwards. */
  readonly invalidates?: boolean;
  /** `"remove"`: the function takes this argument out of its parent; ownership comes back to JS. */
  readonly parent?: "remove";
  /** Null is a valid argument (passed as a null pointer). Default: refused. */
  readonly nullable?: boolean;
  /**
   * After the call, this argument is kept alive by argument `by` (or by the result): it is not
   * collected and its native destructor waits while the nurse lives. `slot` keys the
   * reference (default: one slot per function and parameter); `mode` `"set"` replaces what the
   * slot held (null empties it), `"add"` adds, `"remove"` takes out.
   */
  readonly keepAlive?: { readonly by: number | "result"; readonly slot?: string; readonly mode?: "set" | "add" | "remove" };
}

/** The shape of a JS function native code calls. */
export interface CallbackDeclaration<TypeName extends string = string> {
  /**
   * Object parameters are borrowed for the call: the wrappers become invalid when the
   * callback returns, unless it calls `retain()` on them.
   */
  readonly parameters: readonly (NativeType | { readonly object: TypeName })[];
  readonly result: NativeType;
  /** Native code may call it from other threads. */
  readonly threadSafe?: boolean;
}

/** A callback parameter: the JS function passed becomes a native function pointer. */
export interface CallbackParameter<TypeName extends string = string> {
  readonly callback: CallbackDeclaration<TypeName>;
  /**
   * The index of the object argument the callback belongs to: closed when that object dies,
   * and replaced when the function is called again for the same object. Without it the
   * callback stays open until `closeCallback()`.
   */
  readonly boundTo?: number;
}

/** An object result, with who owns it. */
export interface ObjectResult<TypeName extends string = string> {
  readonly object: TypeName;
  /**
   * - `"own"`: a new object JS owns (factories, clones).
   * - `"borrow"`: JS may use it; native code owns it (the default for pointers).
   * - `"child"`: owned by argument `of`; valid while that argument lives.
   * - `"known"`: must be an object custody already holds; an unknown pointer is refused.
   */
  readonly ownership: "own" | "borrow" | "child" | "known";
  /** For `"child"`: the index of the argument that owns the result. */
  readonly of?: number;
  /** The heuristic that decided this ownership, shown by `dump()`; set by `bind()`. */
  readonly rule?: string;
}

/** One native function. */
export interface FunctionDeclaration<TypeName extends string = string> {
  /** The C symbol, when the JS name differs. */
  readonly symbol?: string;
  readonly parameters: readonly (NativeType | ObjectParameter<TypeName> | CallbackParameter<TypeName>)[];
  readonly result: NativeType | ObjectResult<TypeName>;
  /**
   * Run on a worker thread (Deno) and return a promise; Bun runs it synchronously behind the
   * same promise. Object arguments stay pinned until the promise settles: released meanwhile,
   * they are invalid to JS at once, but their native destructors wait for the call to end.
   */
  readonly nonblocking?: boolean;
  /**
   * Whether the call succeeded, for `steal: "onSuccess"`. Default: a non-negative number,
   * a true boolean, or a non-null object.
   */
  readonly succeeded?: (result: number | boolean) => boolean;
}

/** A whole library. */
export interface Declaration<TypeName extends string = string> {
  readonly types: Readonly<Record<TypeName, TypeDeclaration>>;
  readonly functions: Readonly<Record<string, FunctionDeclaration<TypeName>>>;
}
