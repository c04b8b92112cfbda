/**
 * libcustody's own bookkeeping through each runtime's raw FFI, with no JS wrapper: what an
 * owned object or an allocation costs custody natively, crossing the boundary the cheapest
 * way the runtime offers. Added to the raw pair it is the floor of custody's lifecycles:
 *
 * - `registeredLifecycle`: raw `wg_window_new`, then `custody_capsule_register` (the window's
 *   entry, owned, with its destructor) and `custody_capsule_destroy` (which runs
 *   `wg_window_destroy`): the native work of `wg_window_new(...).release()`;
 * - `registeredAllocation`: `custody_alloc_owned_number` and `custody_capsule_destroy` (which
 *   frees the block): the native work of `alloc(types.u64).release()`.
 *
 * Like bench/raw_widgets.ts, this file asks which runtime runs.
 *
 * @module
 */
import { widgetsPath } from "../examples/widgets.ts";
import { libraryPath } from "../src/native/library.ts";
import { symbolAddress } from "../src/native/symbol_address.ts";
import { typeName } from "../src/registry.ts";
import { memoryTypeName } from "../src/memory/alloc.ts";

/** The two native floors, each one call of a whole create-and-destroy. */
export interface RawCustody {
  registeredLifecycle(): void;
  registeredAllocation(): void;
}

/** Opens libcustody and libwidgets through `Deno.dlopen` or `bun:ffi`, whichever runtime runs. */
export async function rawCustody(): Promise<RawCustody> {
  const windowType = typeName("Window");
  const blockType = typeName(memoryTypeName);
  const windowDestructor = symbolAddress(widgetsPath, "wg_window_destroy");
  const out = new Uint32Array(2);
  const denoApi = (globalThis as { Deno?: typeof Deno }).Deno;
  if (denoApi !== undefined && !("Bun" in globalThis)) {
    const custody = denoApi.dlopen(libraryPath(), {
      custody_capsule_register: { parameters: ["pointer", "u32", "pointer", "pointer", "u32", "buffer"], result: "i32" },
      custody_capsule_destroy: { parameters: ["u32", "u32"], result: "i32" },
      custody_alloc_owned_number: { parameters: ["f64", "f64", "u32", "u32", "u32", "u32", "buffer"], result: "f64" },
    }).symbols;
    const widgets = denoApi.dlopen(widgetsPath, {
      wg_window_new: { parameters: ["pointer", "usize"], result: "pointer" },
    }).symbols;
    const destructor = denoApi.UnsafePointer.create(BigInt(windowDestructor));
    return {
      registeredLifecycle: () => {
        custody.custody_capsule_register(widgets.wg_window_new(null, 0n), windowType, destructor, null, 1, out);
        custody.custody_capsule_destroy(out[0], out[1]);
      },
      registeredAllocation: () => {
        custody.custody_alloc_owned_number(8, 16, 1, 0, blockType, 1, out);
        custody.custody_capsule_destroy(out[0], out[1]);
      },
    };
  }
  const specifier = "bun:ffi";
  const ffi = await import(specifier) as {
    dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): {
      symbols: Record<string, (...args: unknown[]) => unknown>;
    };
  };
  const custody = ffi.dlopen(libraryPath(), {
    custody_capsule_register: { args: ["ptr", "u32", "ptr", "ptr", "u32", "ptr"], returns: "i32" },
    custody_capsule_destroy: { args: ["u32", "u32"], returns: "i32" },
    custody_alloc_owned_number: { args: ["f64", "f64", "u32", "u32", "u32", "u32", "ptr"], returns: "f64" },
  }).symbols;
  const widgets = ffi.dlopen(widgetsPath, {
    wg_window_new: { args: ["ptr", "u64"], returns: "ptr" },
  }).symbols;
  return {
    registeredLifecycle: () => {
      custody.custody_capsule_register(widgets.wg_window_new(null, 0), windowType, windowDestructor, null, 1, out);
      custody.custody_capsule_destroy(out[0], out[1]);
    },
    registeredAllocation: () => {
      custody.custody_alloc_owned_number(8, 16, 1, 0, blockType, 1, out);
      custody.custody_capsule_destroy(out[0], out[1]);
    },
  };
}
