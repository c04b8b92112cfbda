/**
 * A typical hand-written wrapper over raw FFI, the way a binding author writes one without
 * custody: a class per native type, a FinalizationRegistry that destroys what JS dropped, and
 * a Map from id to pointer that every method consults to refuse a destroyed object. It knows
 * nothing of ownership transfer, parents, borrowing or forged pointers: it is the cost a
 * careful author pays for use-after-free and double-free protection alone.
 *
 * @module
 */
import type { RawWidgets } from "./raw_widgets.ts";

/** A window class as a binding author writes it by hand. */
export interface HandwrittenWindow {
  childCount(): number;
  dispose(): void;
}

/** Builds the hand-written `Window` class over `raw`. */
export function handwrittenWindows(raw: RawWidgets): { create(): HandwrittenWindow } {
  const pointers = new Map<number, unknown>();
  const finalizer = new FinalizationRegistry<number>((id) => {
    const pointer = pointers.get(id);
    if (pointer === undefined) return;
    pointers.delete(id);
    raw.destroy(pointer);
  });
  let nextId = 1;

  class Window implements HandwrittenWindow {
    readonly #id: number;

    constructor() {
      const pointer = raw.newWindow();
      if (pointer === null || pointer === 0) throw new Error("Cannot create a window: out of memory");
      this.#id = nextId++;
      pointers.set(this.#id, pointer);
      finalizer.register(this, this.#id, this);
    }

    #pointer(action: string): unknown {
      const pointer = pointers.get(this.#id);
      if (pointer === undefined) throw new Error(`Cannot ${action}: the window was destroyed`);
      return pointer;
    }

    childCount(): number {
      return raw.childCount(this.#pointer("count children"));
    }

    dispose(): void {
      const pointer = this.#pointer("dispose");
      pointers.delete(this.#id);
      finalizer.unregister(this);
      raw.destroy(pointer);
    }
  }

  return { create: () => new Window() };
}
