/**
 * The Deno adapter: `Deno.dlopen`, `Deno.UnsafePointerView`, `Deno.UnsafeCallback`.
 *
 * Deno's fast call path takes 64-bit integers as BigInt and returns them as BigInt, so
 * symbols with 64-bit parameters or results are wrapped to take and return JS numbers
 * (user-space addresses and custody's counters stay below 2^53). `pointer` parameters are
 * Deno pointers: a wrapper makes its pointer object once and passes it on every call.
 * `nativePointer` values pass both ways unconverted. On Deno 2.9.6 a `BigInt()` or an
 * `UnsafePointer.create` costs more than the call it feeds, so hot paths avoid both.
 *
 * @module
 */
import { specialize } from "../specialize.ts";
import type { CallbackSpec, NativeCallback, NativeType, OpenLibrary, Runtime, SymbolSpec } from "./types.ts";

/** For results and callback parameters; `pointer` parameters are `pointer` (see `parameterTypes`). */
const nativeTypes: Record<NativeType, Deno.NativeResultType> = {
  void: "void",
  bool: "bool",
  i8: "i8",
  u8: "u8",
  i16: "i16",
  u16: "u16",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "usize",
  f32: "f32",
  f64: "f64",
  pointer: "usize",
  function: "usize",
  nativePointer: "pointer",
};

/**
 * `pointer` parameters are Deno `pointer`s, so a wrapper's cached pointer object passes
 * without conversion; a number given instead is converted on the call (slower).
 */
const parameterTypes: Record<NativeType, Deno.NativeType> = { ...nativeTypes, pointer: "pointer" } as Record<NativeType, Deno.NativeType>;

function pointerObject(address: number): Deno.PointerObject {
  const pointer = Deno.UnsafePointer.create(BigInt(address));
  if (pointer === null) throw new RangeError("Native address must not be null");
  return pointer;
}

/** 64-bit types: Deno takes them as BigInt on its fast path and returns them as BigInt. */
const wide = new Set<NativeType>(["i64", "u64", "usize", "pointer", "function"]);
const toPointer: Convert = (value) => typeof value === "number" ? (value === 0 ? null : Deno.UnsafePointer.create(BigInt(value))) : value;

type Raw = (...args: unknown[]) => unknown;
type Convert = (value: unknown) => unknown;

const same: Convert = (value) => value;
// A JS number given for a `usize` parameter sends Deno down a slow path (~300 ns, measured
// on Deno 2.9.6) where a BigInt stays on the fast one (~40 ns).
// Small values (sizes, alignments, counts) come from a table: BigInt() measured about 80 ns
// on Deno 2.9.6, more than the native call it feeds.
const smallBigInts: readonly bigint[] = Array.from({ length: 4097 }, (_, i) => BigInt(i));
const toBigInt: Convert = (value) => smallBigInts[value as number] ?? BigInt(value as number);
const toNumber: Convert = (value) => typeof value === "bigint" ? Number(value) : value;

/**
 * Wraps a symbol so that it takes and returns JS numbers for 64-bit types, compiled for the
 * symbol (see `specialize`): the conversions are inlined and the native call stays on V8's
 * fast path.
 */
function numeric(fn: Raw, spec: SymbolSpec): Raw {
  const c = spec.parameters.map((t) => t === "pointer" ? toPointer : wide.has(t) ? toBigInt : same);
  const out = wide.has(spec.result) ? toNumber : same;
  if (out === same && c.every((convert) => convert === same)) return fn;
  if (spec.nonblocking) {
    return (...args) => (fn(...args.map((a, i) => c[i](a))) as Promise<unknown>).then(out);
  }
  const args = c.map((convert, i) =>
    convert === toPointer ? `(typeof a${i} === "number" ? toPointer(a${i}) : a${i})` : convert === toBigInt ? `toBigInt(a${i})` : `a${i}`
  );
  const call = `fn(${args.join(", ")})`;
  const body = out === toNumber ? `const r = ${call}; return typeof r === "bigint" ? Number(r) : r;` : `return ${call};`;
  return specialize(c.length, body, { fn, toPointer, toBigInt }) as Raw;
}

function translate(spec: SymbolSpec): Deno.ForeignFunction {
  return {
    parameters: spec.parameters.map((t) => parameterTypes[t]),
    // A `usize` result comes back as a BigInt, made a number at once; a `pointer` result would
    // come back as a pointer object whose address takes an op call to read (measured slower).
    result: nativeTypes[spec.result],
    nonblocking: spec.nonblocking ?? false,
  };
}

/** The runtime adapter for Deno. */
export const denoRuntime: Runtime = {
  name: "deno",

  open<Symbols extends Record<string, SymbolSpec>>(path: string, symbols: Symbols): OpenLibrary<Symbols> {
    const definitions: Record<string, Deno.ForeignFunction> = {};
    for (const [name, spec] of Object.entries(symbols)) definitions[name] = translate(spec);
    const library = Deno.dlopen(path, definitions);
    const raw = library.symbols as Record<string, Raw>;
    // Made in one go: an object given its properties one keyed store at a time turns into a
    // slow dictionary in V8 past a dozen of them, and every call looks its function up.
    const bound = Object.fromEntries(Object.entries(symbols).map(([name, spec]) => [name, numeric(raw[name], spec)]));
    return {
      symbols: bound as unknown as OpenLibrary<Symbols>["symbols"],
      close: () => library.close(),
    };
  },

  view(address: number, byteLength: number): ArrayBuffer {
    return Deno.UnsafePointerView.getArrayBuffer(pointerObject(address), byteLength);
  },

  cString(address: number): string {
    return Deno.UnsafePointerView.getCString(pointerObject(address));
  },

  nativePointer(address: number): unknown {
    return address === 0 ? null : Deno.UnsafePointer.create(BigInt(address));
  },

  // A pointer object costs a BigInt and an allocation: made only when a call needs one.
  nativePointerIsAddress: false,

  noPointer: Symbol("no pointer"),

  addressOfNative(pointer: unknown): number {
    return pointer === null ? 0 : Number(Deno.UnsafePointer.value(pointer as Deno.PointerObject));
  },

  addressOf(view: ArrayBufferView): number {
    const pointer = Deno.UnsafePointer.of(view as Uint8Array<ArrayBuffer>);
    return pointer === null ? 0 : Number(Deno.UnsafePointer.value(pointer));
  },

  callback(spec: CallbackSpec, fn: (...args: number[]) => number | void | boolean): NativeCallback {
    const definition = {
      parameters: spec.parameters.map((t) => nativeTypes[t] as Deno.NativeType),
      result: nativeTypes[spec.result],
    } as const;
    const call = (...args: unknown[]) => fn(...args.map((a) => toNumber(a) as number));
    const callback = spec.threadSafe
      ? Deno.UnsafeCallback.threadSafe(definition, call as never)
      : new Deno.UnsafeCallback(definition, call as never);
    return {
      pointer: Number(Deno.UnsafePointer.value(callback.pointer)),
      close: () => callback.close(),
    };
  },

  collectGarbage(): boolean {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return false;
    gc();
    return true;
  },

  env(name: string): string | undefined {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  },

  sharedLibraryName(name: string): string {
    return libraryName(Deno.build.os, name);
  },

  pathOf(url: URL): string {
    return decodeURIComponent(Deno.build.os === "windows" ? url.pathname.slice(1) : url.pathname);
  },

  onExit(fn: () => void): void {
    globalThis.addEventListener("unload", fn);
  },

  setExitCode(code: number): void {
    Deno.exitCode = code;
  },
};

function libraryName(os: string, name: string): string {
  if (os === "windows") return `${name}.dll`;
  return os === "darwin" ? `lib${name}.dylib` : `lib${name}.so`;
}
