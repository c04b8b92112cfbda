/**
 * The three checked-call cases, shared by bench/ownership.ts (side by side) and
 * bench/call_alone.ts (each alone): `wg_window_child_count` on one window through the
 * runtime's own FFI (`raw`), that raw call behind an inline read and compare of the window's
 * generation, the one check a checked call cannot skip (`floor`), and the call through
 * custody's bindings on a borrowed window (`checked`).
 *
 * @module
 */
import type { RawWidgets } from "./raw_widgets.ts";
import { widgetsLibrary } from "../examples/widgets.ts";
import { borrow, handleOf, type NativeObject } from "../src/ownership/wrapper.ts";
import { generations } from "../src/registry.ts";

export interface CallCases {
  readonly raw: () => void;
  readonly floor: () => void;
  readonly checked: () => void;
  /** Destroys the windows the cases call on. */
  close(): void;
}

/** The cases over two new windows, one raw and one owned through custody and borrowed again. */
export function callCases(raw: RawWidgets): CallCases {
  const w = widgetsLibrary.functions;
  const rawWindow = raw.newWindow();
  const ownedWindow = w.wg_window_new(0, 0)!;
  const borrowedWindow = borrow(widgetsLibrary.types.Window, (ownedWindow as NativeObject).address) as typeof ownedWindow;
  const { slot, generation } = handleOf(borrowedWindow);
  let sink = 0;
  return {
    raw: () => {
      sink += raw.childCount(rawWindow);
    },
    floor: () => {
      if (generations[slot] !== generation) throw new Error("The window died");
      sink += raw.childCount(rawWindow);
    },
    checked: () => {
      sink += w.wg_window_child_count(borrowedWindow);
    },
    close: () => {
      raw.destroy(rawWindow);
      ownedWindow.release();
      if (sink === -1) console.log("unreachable");
    },
  };
}
