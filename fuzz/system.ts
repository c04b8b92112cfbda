/**
 * The system under test: the widget library bound through custody (examples/widgets.ts),
 * plus the ownership variants the fuzz needs (steal always, on success and safe), and the
 * wrappers JS holds, indexed like the model's.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { widgetsDeclaration, widgetsPath } from "../examples/widgets.ts";
import { bind, type Wrapper } from "../src/bindings/bind.ts";
import type { Declaration } from "../src/bindings/declaration.ts";
import { runtime } from "../src/ffi/mod.ts";
import { addressOf, NativeObject } from "../src/ownership/wrapper.ts";
import { counter, violationCount } from "../src/stats.ts";

/** The widgets declaration and, under other names, the same functions with other ownership hints. */
export const fuzzDeclaration = {
  types: widgetsDeclaration.types,
  functions: {
    ...widgetsDeclaration.functions,
    add_child_stealing: { symbol: "wg_window_add_child", parameters: [{ object: "Window" }, { object: "Widget", steal: "always" }], result: "i32" },
    add_child_stealing_on_success: {
      symbol: "wg_window_add_child",
      parameters: [{ object: "Window" }, { object: "Widget", steal: "onSuccess" }],
      result: "i32",
    },
    give_widget_away_safely: { symbol: "wg_widget_set_visible", parameters: [{ object: "Widget", steal: "safe" }, "u32"], result: "i32" },
    wg_window_close_hidden_async: { parameters: [{ object: "Window" }], result: "i32" },
    wg_join_threads: { parameters: [], result: "void" },
  },
} as const satisfies Declaration;

const binding = bind(widgetsPath, fuzzDeclaration);
/** The bound functions. */
export const lib = binding.functions;
/** The bound object types. */
export const types = binding.types;

/** A wrapper, typed loosely: commands pass any wrapper to any function to misuse it on purpose. */
export type AnyWrapper = Wrapper<string>;

/**
 * What JS holds in one run, indexed by the model's wrapper ids: a NativeObject, or what
 * stands for one in its API (a memory Pointer, a Capsule), which has release() and dispose too.
 */
export class Real {
  /** Strong references; undefined once dropped. */
  readonly held: (object | undefined)[] = [];
  /** Weak references to dropped wrappers, to take back the ones not collected yet. */
  readonly #weak: (WeakRef<object> | undefined)[] = [];
  /** Native addresses, to find an object again once its wrapper was collected. */
  readonly address: number[] = [];
  /** What else JS holds that keeps a wrapper's object alive (pointers derived from memory): dropped with it. */
  readonly companions = new Map<number, unknown[]>();
  /**
   * The registry wrapper behind what JS holds, where that is another object (a Pointer's owner,
   * a Capsule's wrapper): custody's finalizer is registered on it. Measured on Bun 1.4.5: a
   * forced collection often took the Pointer or Capsule and left the wrapper it held for the
   * next one, so only the wrapper tells whether custody's finalizer is due.
   */
  readonly #inner: (object | undefined)[] = [];
  /** Weak references to those, once dropped. */
  readonly #innerWeak: (WeakRef<object> | undefined)[] = [];

  add(object: object, address: number = addressOf(object as NativeObject), inner?: NativeObject): void {
    this.held.push(object);
    this.#weak.push(undefined);
    this.address.push(address);
    this.#inner.push(inner);
    this.#innerWeak.push(undefined);
  }

  get<T extends string = string>(id: number): Wrapper<T> {
    const object = this.held[id];
    if (object === undefined) throw new Error(`fuzz: wrapper ${id} is not held`);
    return object as Wrapper<T>;
  }

  drop(id: number): void {
    const object = this.held[id];
    if (object === undefined) return;
    this.#weak[id] = new WeakRef(object);
    this.held[id] = undefined;
    this.companions.delete(id);
    const inner = this.#inner[id];
    if (inner === undefined) return;
    this.#innerWeak[id] = new WeakRef(inner);
    this.#inner[id] = undefined;
  }

  /** The dropped object `id`, if the runtime has not collected it. */
  uncollected(id: number): object | undefined {
    return this.#weak[id]?.deref();
  }

  /** Holds the dropped object `id` again, if the runtime has not collected it; returns it. */
  takeBack(id: number): object | undefined {
    const object = this.#weak[id]?.deref();
    if (object === undefined) return undefined;
    this.held[id] = object;
    this.#weak[id] = undefined;
    this.#inner[id] = this.#innerWeak[id]?.deref();
    this.#innerWeak[id] = undefined;
    return object;
  }

  /**
   * The registry wrapper behind the held object `id`: the one it was added with (a Pointer's
   * owner, a Capsule's wrapper), else the object itself when it is a NativeObject.
   */
  registryObject(id: number): NativeObject | undefined {
    const object = this.held[id];
    if (object === undefined) return undefined;
    return (this.#inner[id] as NativeObject | undefined) ?? (object instanceof NativeObject ? object : undefined);
  }

  /** Whether the registry wrapper of the dropped object `id` was collected: custody's finalizer is due. */
  collected(id: number): boolean {
    return (this.#innerWeak[id] ?? this.#weak[id])?.deref() === undefined;
  }

  /** Lets go of the weak references of a dropped object once the model recorded its collection. */
  forget(id: number): void {
    this.#weak[id] = undefined;
    this.#innerWeak[id] = undefined;
  }
}

/** The counters the oracles compare, read without allocating much. */
export function counters(): { violations: number; deadCalls: number; liveObjects: number; liveEntries: number; liveBlocks: number } {
  return {
    violations: violationCount(),
    deadCalls: Number(lib.wg_dead_calls()),
    liveObjects: Number(lib.wg_live_objects()),
    liveEntries: counter("capsules_live"),
    liveBlocks: counter("live_count"),
  };
}

/**
 * A turn of the event loop: the finalization callbacks a collection queued run before it ends.
 * `setImmediate` rather than `setTimeout(0)`: both runtimes ran every queued callback within one
 * such turn, and a zero timeout waited 2 ms a turn on Deno here (0.5 ms on Bun).
 */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Forces a full collection and lets the finalizers it queued run. The first turn ends the
 * current job, which lets go of the objects its WeakRef reads kept alive.
 */
export async function collect(): Promise<void> {
  await tick();
  runtime.collectGarbage();
  await tick();
  await tick();
}
