/**
 * The Deno adapter: `Deno.dlopen`, `Deno.UnsafePointerView`, `Deno.UnsafeCallback`.
 *
 * Addresses are declared to Deno as `usize`, which takes and returns JS numbers on Deno's
 * fast call path; a `pointer` type would need a pointer object (or a BigInt) per call.
 *
 * @module
 */
import type { CallbackSpec, NativeCallback, NativeType, OpenLibrary, Runtime, SymbolSpec } from "./types.ts";

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
};

function pointerObject(address: number): Deno.PointerObject {
  const pointer = Deno.UnsafePointer.create(BigInt(address));
  if (pointer === null) throw new RangeError("Native address must not be null");
  return pointer;
}

function toNumber(value: number | bigint | boolean | void): number | boolean | void {
  return typeof value === "bigint" ? Number(value) : value;
}

function translate(spec: SymbolSpec): Deno.ForeignFunction {
  return {
    parameters: spec.parameters.map((t) => nativeTypes[t] as Deno.NativeType),
    result: nativeTypes[spec.result],
    nonblocking: spec.nonblocking ?? false,
    callback: spec.callback ?? false,
  };
}

/** The runtime adapter for Deno. */
export const denoRuntime: Runtime = {
  name: "deno",

  open<Symbols extends Record<string, SymbolSpec>>(path: string, symbols: Symbols): OpenLibrary<Symbols> {
    const definitions: Record<string, Deno.ForeignFunction> = {};
    for (const [name, spec] of Object.entries(symbols)) definitions[name] = translate(spec);
    const library = Deno.dlopen(path, definitions);
    return {
      symbols: library.symbols as unknown as OpenLibrary<Symbols>["symbols"],
      close: () => library.close(),
    };
  },

  view(address: number, byteLength: number): ArrayBuffer {
    return Deno.UnsafePointerView.getArrayBuffer(pointerObject(address), byteLength);
  },

  cString(address: number): string {
    return Deno.UnsafePointerView.getCString(pointerObject(address));
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
    const call = (...args: unknown[]) => fn(...args.map((a) => toNumber(a as number | bigint) as number));
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
};

function libraryName(os: string, name: string): string {
  if (os === "windows") return `${name}.dll`;
  return os === "darwin" ? `lib${name}.dylib` : `lib${name}.so`;
}
