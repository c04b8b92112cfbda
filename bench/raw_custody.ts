/**
 * libcustody's own bookkeeping through each runtime's raw FFI, with no JS wrapper: what an
 * owned object or an allocation costs custody natively, crossing the boundary the cheapest
 * way the runtime offers. Added to the raw pair it is the floor of custody's lifecycles:
 *
 * - `registeredLifecycle`: raw `wg_window_new`, then `custody_capsule_register` (the window's
 *   entry, owned, with its destructor) and `custody_capsule_destroy` (which runs
 *   `wg_window_destroy`): the native work of `wg_window_new(...).release()`;
 * - `registeredAllocation`: `custody_alloc_owned_number` and `custody_capsule_destroy` (which
 *   frees the block): the native work of `alloc(types.u64).release()`;
 * - `trackedAllocation`: a zeroed tracked block and `custody_free`, the tracked allocator
 *   alone with no registry entry (which `alloc` cannot do without), each runtime crossing the
 *   cheapest way it has: Deno as raw `malloc` and `free` do (`custody_calloc_tagged`, pointers
 *   as pointer objects; a number for a `usize` parameter took Deno 2.9.6 over 800 ns), Bun
 *   with doubles (`custody_calloc_number`; its `u64_fast` parameters cost about 20 ns each).
 *
 * The window comes from `raw` (bench/raw_widgets.ts), the runtime's raw FFI to libwidgets.
 *
 * @module
 */
import { libraryPath } from "../src/native/library.ts";
import { symbolAddress } from "../src/native/symbol_address.ts";
import { typeName } from "../src/registry.ts";
import { memoryTypeName } from "../src/memory/alloc.ts";
import { tagId } from "../src/allocator.ts";
import { widgetsPath } from "../examples/widgets.ts";
import { runtime } from "../src/ffi/mod.ts";
import { bunDlopen, deno } from "./raw_ffi.ts";
import type { RawWidgets } from "./raw_widgets.ts";

/** The native floors, each one call of a whole create-and-destroy. */
export interface RawCustody {
  registeredLifecycle(): void;
  registeredAllocation(): void;
  trackedAllocation(): void;
}

/** Opens libcustody through `Deno.dlopen` or `bun:ffi`, whichever runtime runs; windows come from `raw`. */
export async function rawCustody(raw: RawWidgets): Promise<RawCustody> {
  const windowType = typeName("Window");
  const blockType = typeName(memoryTypeName);
  const blockTag = tagId(memoryTypeName);
  const windowDestructor = raw.pointerAt(symbolAddress(widgetsPath, "wg_window_destroy"));
  const out = new Uint32Array(2);
  // The handle comes back through `out`, passed as a pointer made once: a `buffer` parameter
  // cost Deno 2.9.6 about 37 ns more per call (measured), and Bun converts a typed array on
  // every call.
  let register: (window: unknown) => void;
  let allocate: () => void;
  let destroy: () => void;
  let trackedAllocation: () => void;
  if (deno !== undefined) {
    const custody = deno.dlopen(libraryPath(), {
      custody_capsule_register: { parameters: ["pointer", "u32", "pointer", "pointer", "u32", "pointer"], result: "i32" },
      custody_capsule_destroy: { parameters: ["u32", "u32"], result: "i32" },
      custody_alloc_owned_number: { parameters: ["f64", "f64", "u32", "u32", "u32", "u32", "pointer"], result: "f64" },
      custody_calloc_tagged: { parameters: ["usize", "usize", "u32"], result: "pointer" },
      custody_free: { parameters: ["pointer"], result: "void" },
    }).symbols;
    const outPointer = deno.UnsafePointer.of(out);
    const destructor = windowDestructor as Deno.PointerValue;
    register = (window) => custody.custody_capsule_register(window as Deno.PointerValue, windowType, destructor, null, 1, outPointer);
    allocate = () => custody.custody_alloc_owned_number(8, 16, 1, 0, blockType, 1, outPointer);
    destroy = () => custody.custody_capsule_destroy(out[0], out[1]);
    const size = 8n, alignment = 16n;
    trackedAllocation = () => custody.custody_free(custody.custody_calloc_tagged(size, alignment, blockTag));
  } else {
    const custody = await bunDlopen(libraryPath(), {
      custody_capsule_register: { args: ["ptr", "u32", "ptr", "ptr", "u32", "ptr"], returns: "i32" },
      custody_capsule_destroy: { args: ["u32", "u32"], returns: "i32" },
      custody_alloc_owned_number: { args: ["f64", "f64", "u32", "u32", "u32", "u32", "ptr"], returns: "f64" },
      custody_calloc_number: { args: ["f64", "f64", "u32"], returns: "f64" },
      custody_free: { args: ["ptr"], returns: "void" },
    });
    const outPointer = runtime.addressOf(out);
    register = (window) => custody.custody_capsule_register(window, windowType, windowDestructor, null, 1, outPointer);
    allocate = () => custody.custody_alloc_owned_number(8, 16, 1, 0, blockType, 1, outPointer);
    destroy = () => custody.custody_capsule_destroy(out[0], out[1]);
    trackedAllocation = () => custody.custody_free(custody.custody_calloc_number(8, 16, blockTag));
  }
  return {
    registeredLifecycle: () => {
      register(raw.newWindow());
      destroy();
    },
    registeredAllocation: () => {
      allocate();
      destroy();
    },
    trackedAllocation,
  };
}
