/**
 * The widget library (zig/examples/widgets.zig) through each runtime's own FFI, used the way
 * its documentation shows (Deno: pointer objects; Bun: numbers): the physical limit every
 * benchmark compares against. Unlike custody's sources, this file asks which runtime runs.
 *
 * @module
 */
import { widgetsPath } from "../examples/widgets.ts";

/** The widget calls the benchmarks use, with pointers in the runtime's own form. */
export interface RawWidgets {
  newWindow(): unknown;
  destroy(window: unknown): void;
  childCount(window: unknown): number;
  /** Widgets and windows alive in the library. */
  liveObjects(): number;
  /** The runtime's pointer form of a native address. */
  pointerAt(address: number): unknown;
}

/** Opens libwidgets through `Deno.dlopen` or `bun:ffi`, whichever runtime runs. */
export async function rawWidgets(): Promise<RawWidgets> {
  const denoApi = (globalThis as { Deno?: typeof Deno }).Deno;
  if (denoApi !== undefined && !("Bun" in globalThis)) {
    const lib = denoApi.dlopen(widgetsPath, {
      wg_window_new: { parameters: ["pointer", "usize"], result: "pointer" },
      wg_window_destroy: { parameters: ["pointer"], result: "void" },
      wg_window_child_count: { parameters: ["pointer"], result: "i64" },
      wg_live_objects: { parameters: [], result: "i64" },
    });
    return {
      newWindow: () => lib.symbols.wg_window_new(null, 0n),
      destroy: (w) => lib.symbols.wg_window_destroy(w as Deno.PointerValue),
      childCount: (w) => Number(lib.symbols.wg_window_child_count(w as Deno.PointerValue)),
      liveObjects: () => Number(lib.symbols.wg_live_objects()),
      pointerAt: (address) => denoApi.UnsafePointer.create(BigInt(address)),
    };
  }
  const specifier = "bun:ffi";
  const ffi = await import(specifier) as {
    dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): {
      symbols: Record<string, (...args: unknown[]) => unknown>;
    };
  };
  const lib = ffi.dlopen(widgetsPath, {
    wg_window_new: { args: ["ptr", "u64"], returns: "ptr" },
    wg_window_destroy: { args: ["ptr"], returns: "void" },
    wg_window_child_count: { args: ["ptr"], returns: "i64_fast" },
    wg_live_objects: { args: [], returns: "i64_fast" },
  });
  return {
    newWindow: () => lib.symbols.wg_window_new(null, 0),
    destroy: (w) => lib.symbols.wg_window_destroy(w),
    childCount: (w) => lib.symbols.wg_window_child_count(w) as number,
    liveObjects: () => lib.symbols.wg_live_objects() as number,
    pointerAt: (address) => address,
  };
}
