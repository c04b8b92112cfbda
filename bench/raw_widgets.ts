/**
 * The widget library (zig/examples/widgets.zig) through each runtime's own FFI, used the way
 * its documentation shows (Deno: pointer objects; Bun: numbers): the physical limit every
 * benchmark compares against.
 *
 * @module
 */
import { widgetsPath } from "../examples/widgets.ts";
import { bunDlopen, deno } from "./raw_ffi.ts";

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
  if (deno !== undefined) {
    const { UnsafePointer } = deno;
    const lib = deno.dlopen(widgetsPath, {
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
      pointerAt: (address) => UnsafePointer.create(BigInt(address)),
    };
  }
  const lib = await bunDlopen(widgetsPath, {
    wg_window_new: { args: ["ptr", "u64"], returns: "ptr" },
    wg_window_destroy: { args: ["ptr"], returns: "void" },
    wg_window_child_count: { args: ["ptr"], returns: "i64_fast" },
    wg_live_objects: { args: [], returns: "i64_fast" },
  });
  return {
    newWindow: () => lib.wg_window_new(null, 0),
    destroy: (w) => lib.wg_window_destroy(w),
    childCount: (w) => lib.wg_window_child_count(w) as number,
    liveObjects: () => lib.wg_live_objects() as number,
    pointerAt: (address) => address,
  };
}
