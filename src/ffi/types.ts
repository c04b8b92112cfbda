/**
 * The one small interface custody needs from a JavaScript runtime's FFI. A Deno adapter
 * (`Deno.dlopen`) and a Bun adapter (`bun:ffi`) implement it; nothing else in custody
 * knows which runtime runs.
 *
 * Native addresses are plain JS numbers in both runtimes (user-space addresses fit in
 * 53 bits), so no BigInt ever crosses the boundary on a hot path.
 *
 * @module
 */

/**
 * The native types a symbol can take or return. `pointer` and `function` are addresses: JS
 * numbers, or for `pointer` parameters a value from `Runtime.nativePointer`. 64-bit integers
 * are numbers too and must stay below 2^53. `nativePointer` is an address in the runtime's
 * own representation (`Runtime.nativePointer`), passed and returned without conversion: the
 * cheapest way to hand an address one call returned to the next call (on Deno, turning a
 * pointer into a number or back costs more than the call).
 */
export type NativeType =
  | "void"
  | "bool"
  | "i8"
  | "u8"
  | "i16"
  | "u16"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "usize"
  | "f32"
  | "f64"
  | "pointer"
  | "function"
  | "nativePointer";

/** The JS value of a native type. */
export type JsValueOf<T extends NativeType> = T extends "void" ? void
  : T extends "bool" ? boolean
  : T extends "nativePointer" ? unknown
  : number;

/** One native function: its parameters and result, as in a C prototype. */
export interface SymbolSpec {
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
  /**
   * Deno only: run on a worker thread and return a promise. Bun has no such calls, so
   * there the symbol runs synchronously and its result is wrapped in a resolved promise.
   */
  readonly nonblocking?: boolean;
}

/** Maps each parameter type of a tuple to its JS value type. */
export type JsParameters<P extends readonly NativeType[]> = {
  -readonly [K in keyof P]: P[K] extends NativeType ? JsValueOf<P[K]> : never;
};

/** The JS function a symbol becomes. */
export type SymbolFunction<S extends SymbolSpec> = (
  ...args: JsParameters<S["parameters"]>
) => S["nonblocking"] extends true ? Promise<JsValueOf<S["result"]>> : JsValueOf<S["result"]>;

/** An opened library: one JS function per declared symbol. */
export interface OpenLibrary<Symbols extends Record<string, SymbolSpec>> {
  readonly symbols: { readonly [K in keyof Symbols]: SymbolFunction<Symbols[K]> };
  close(): void;
}

/** The shape of a native function pointer that calls into JS. */
export interface CallbackSpec {
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
  /** May be called from threads other than the JS thread. */
  readonly threadSafe?: boolean;
}

/** A JS function made callable from native code. */
export interface NativeCallback {
  /** The address native code calls. */
  readonly pointer: number;
  /** Frees the trampoline; calling `pointer` afterwards is undefined behaviour in native code. */
  close(): void;
}

/** What custody needs from a runtime. */
export interface Runtime {
  /** "deno" or "bun". */
  readonly name: "deno" | "bun";
  /** Opens a shared library and binds the declared symbols. */
  open<Symbols extends Record<string, SymbolSpec>>(path: string, symbols: Symbols): OpenLibrary<Symbols>;
  /**
   * A live view of `byteLength` bytes of native memory at `address`: writes on either
   * side are seen by the other. The memory must outlive the view and never move.
   */
  view(address: number, byteLength: number): ArrayBuffer;
  /** Reads the NUL-terminated UTF-8 string at `address`. */
  cString(address: number): string;
  /** The address of the first byte of a typed array's memory, which stays there while the array lives. */
  addressOf(view: ArrayBufferView): number;
  /**
   * The runtime's own representation of an address for a `pointer` parameter, to make once
   * and pass on every call (Deno: a pointer object; Bun: the number). A `pointer` parameter
   * also takes a plain number, converted on each call.
   */
  nativePointer(address: number): unknown;
  /**
   * Whether {@linkcode nativePointer} is the address itself (Bun): then custody stores it with
   * every wrapper up front and a checked call never has to make one.
   */
  readonly nativePointerIsAddress: boolean;
  /**
   * A value that is no pointer, compared by identity: what a lookup of a pointer returns for
   * "none". Bun: -1, a number like its pointers (often above 2^31, so doubles), because a
   * function that returned a double or a symbol cost JSC about 30 ns per call where one that
   * returns numbers only costs 2 ns. Deno: a symbol, because a number beside its pointer
   * objects made V8's checked call about 8 ns slower (both measured).
   */
  readonly noPointer: unknown;
  /** The address of a value from {@linkcode nativePointer} or a `nativePointer` result, as a number (0 for null). */
  addressOfNative(pointer: unknown): number;
  /** Makes `fn` callable from native code. */
  callback(spec: CallbackSpec, fn: (...args: number[]) => number | void | boolean): NativeCallback;
  /** Forces a full garbage collection when the runtime allows it; returns whether it did. */
  collectGarbage(): boolean;
  /** Reads an environment variable; undefined when unset or not permitted. */
  env(name: string): string | undefined;
  /** The file name shared libraries get on this system: `libNAME.so`, `libNAME.dylib` or `NAME.dll`. */
  sharedLibraryName(name: string): string;
  /** Turns a `file:` URL into a path of this system. */
  pathOf(url: URL): string;
  /** Runs `fn` when the process exits normally (not on a crash or a kill). */
  onExit(fn: () => void): void;
  /** Sets the exit code the process will end with. */
  setExitCode(code: number): void;
}
