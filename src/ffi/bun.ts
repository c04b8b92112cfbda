/**
 * The Bun adapter: `bun:ffi`'s `dlopen`, `toArrayBuffer`, `CString`, `ptr`, `JSCallback`.
 *
 * Address and size parameters are declared to Bun as `ptr`, address results as `u64_fast`:
 * both are plain JS numbers. Measured on Bun 1.4.5, a `ptr` parameter cost about half of a
 * `u64_fast` one, and a `u64_fast` result never comes back as null. The module is imported by a computed
 * specifier so that Deno's type checker never tries to resolve `bun:ffi`; the subset of
 * its API used here is typed below.
 *
 * @module
 */
import type { CallbackSpec, NativeCallback, NativeType, OpenLibrary, Runtime, SymbolSpec } from "./types.ts";

type BunType =
  | "ptr"
  | "void"
  | "bool"
  | "i8"
  | "u8"
  | "i16"
  | "u16"
  | "i32"
  | "u32"
  | "i64_fast"
  | "u64_fast"
  | "f32"
  | "f64";

interface BunCallbackOptions {
  args: BunType[];
  returns: BunType;
  threadsafe?: boolean;
}

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: BunType[]; returns: BunType }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
  toArrayBuffer(address: number, byteOffset: number, byteLength: number): ArrayBuffer;
  CString: new (address: number) => { toString(): string };
  ptr(view: ArrayBufferView): number;
  /** "so", "dylib" or "dll". */
  suffix: string;
  JSCallback: new (fn: (...args: unknown[]) => unknown, options: BunCallbackOptions) => {
    readonly ptr: number | null;
    close(): void;
  };
}

interface BunGlobal {
  gc(force: boolean): void;
  env: Record<string, string | undefined>;
  fileURLToPath(url: URL): string;
}

const bunFfiSpecifier = "bun:ffi";
const ffi = await import(bunFfiSpecifier) as BunFfi;
const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
const prefix = ffi.suffix === "dll" ? "" : "lib";

const nativeTypes: Record<NativeType, BunType> = {
  void: "void",
  bool: "bool",
  i8: "i8",
  u8: "u8",
  i16: "i16",
  u16: "u16",
  i32: "i32",
  u32: "u32",
  i64: "i64_fast",
  u64: "u64_fast",
  usize: "u64_fast",
  f32: "f32",
  f64: "f64",
  pointer: "u64_fast",
  function: "u64_fast",
  nativePointer: "u64_fast",
};

/**
 * Parameters differ from results only for addresses and sizes: `ptr` passes a pointer-sized
 * unsigned integer exactly as `u64_fast` does, for about half the cost (see the module notes).
 */
const parameterTypes: Record<NativeType, BunType> = {
  ...nativeTypes,
  pointer: "ptr",
  function: "ptr",
  usize: "ptr",
  nativePointer: "ptr",
};

function toNumber(value: unknown): unknown {
  return typeof value === "bigint" ? Number(value) : value;
}

/** The runtime adapter for Bun. */
export const bunRuntime: Runtime = {
  name: "bun",

  open<Symbols extends Record<string, SymbolSpec>>(path: string, symbols: Symbols): OpenLibrary<Symbols> {
    const definitions: Record<string, { args: BunType[]; returns: BunType }> = {};
    for (const [name, spec] of Object.entries(symbols)) {
      definitions[name] = { args: spec.parameters.map((t) => parameterTypes[t]), returns: nativeTypes[spec.result] };
    }
    const library = ffi.dlopen(path, definitions);
    const bound = Object.fromEntries(Object.entries(symbols).map(([name, spec]) => {
      const fn = library.symbols[name];
      // Bun has no nonblocking calls: run synchronously and keep the promise-returning shape.
      return [name, spec.nonblocking ? (...args: unknown[]) => Promise.resolve(fn(...args)) : fn];
    }));
    return { symbols: bound as OpenLibrary<Symbols>["symbols"], close: () => library.close() };
  },

  view(address: number, byteLength: number): ArrayBuffer {
    if (address === 0) throw new RangeError("Native address must not be null");
    return ffi.toArrayBuffer(address, 0, byteLength);
  },

  cString(address: number): string {
    if (address === 0) throw new RangeError("Native address must not be null");
    return new ffi.CString(address).toString();
  },

  addressOf(view: ArrayBufferView): number {
    // A small typed array keeps its elements in the collected heap until its `buffer` is first
    // read, which moves them to memory of their own (measured on Bun 1.4.5: every Int32Array of
    // up to 6 elements moved). Read first, the address is the one they keep.
    void view.buffer;
    return ffi.ptr(view);
  },

  nativePointer(address: number): unknown {
    return address;
  },

  nativePointerIsAddress: true,

  noPointer: -1,

  addressOfNative(pointer: unknown): number {
    return pointer === null ? 0 : pointer as number;
  },

  callback(spec: CallbackSpec, fn: (...args: number[]) => number | void | boolean): NativeCallback {
    const callback = new ffi.JSCallback(
      (...args: unknown[]) => fn(...args.map((a) => toNumber(a) as number)),
      { args: spec.parameters.map((t) => nativeTypes[t]), returns: nativeTypes[spec.result], threadsafe: spec.threadSafe ?? false },
    );
    return { pointer: callback.ptr ?? 0, close: () => callback.close() };
  },

  collectGarbage(): boolean {
    bun.gc(true);
    return true;
  },

  env(name: string): string | undefined {
    return bun.env[name];
  },

  sharedLibraryName(name: string): string {
    return `${prefix}${name}.${ffi.suffix}`;
  },

  pathOf(url: URL): string {
    return bun.fileURLToPath(url);
  },

  onExit(fn: () => void): void {
    process.on("exit", fn);
  },

  setExitCode(code: number): void {
    process.exitCode = code;
  },
};
