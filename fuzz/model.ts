/**
 * The fuzz model: what custody and the native library should look like after every command,
 * predicted from the transition table (src/ownership/transitions.ts) and nothing else. The
 * model never calls custody's own state machine (machine.ts, wrapper.ts): a mutation there
 * must make the two disagree.
 *
 * Two kinds of records, so that a later family (allocations, capsules) can add its own kinds
 * of objects: a {@linkcode NativeModel} per native object, with what the native library knows
 * of it (alive, parent, children, source), and a {@linkcode WrapperModel} per JS wrapper, with
 * its ownership state. A native object has at most one wrapper on its live registry entry.
 *
 * @module
 */
import type { ErrorCode } from "../src/errors.ts";
import { type Event, events, isAllowed, type State, states, transitions } from "../src/ownership/transitions.ts";

/** One native object of the library under test. */
export interface NativeModel {
  readonly id: number;
  /** The native type's name (Window, Widget, Renderer, Event; later families add theirs). */
  readonly kind: string;
  alive: boolean;
  /** The window it is a native child of. */
  parent: NativeModel | undefined;
  /** Native children, newest first. */
  children: NativeModel[];
  visible: boolean;
  /** A renderer's source widget. */
  source: NativeModel | undefined;
  /** Renderer wrappers whose keep-alive holds this object's registry entry. */
  keptBy: Set<WrapperModel>;
  /** Its destructor ran while kept alive: the object dies when the last keep-alive goes. */
  destroyDeferred: boolean;
  /** The wrapper that holds its live registry entry. */
  entry: WrapperModel | undefined;
  /** A window's event callback is set. */
  hasCallback: boolean;
  /**
   * Registry views of it (capsules over a memory block): their entries are children of its
   * entry, and go down with it without their destructors.
   */
  views: NativeModel[];
  /** The object this one is a registry view of. */
  viewOf: NativeModel | undefined;
}

/** One JS wrapper. */
export interface WrapperModel {
  readonly id: number;
  readonly native: NativeModel;
  state: State;
  /** The event that made it invalid. */
  cause: Event | undefined;
  /** JS holds a strong reference (false once dropped). */
  held: boolean;
  /** Its finalizer ran. */
  collected: boolean;
  /** The table's `destroy` effect happened to it: custody ran (or deferred) its destructor. */
  destroyed: boolean;
  /** What `source` keep-alive slot this renderer fills (renderers only). */
  keeps: WrapperModel | undefined;
}

/** What the table says an event does to a wrapper: allowed (where to, what native effect) or the error. */
export type Prediction =
  | { readonly allowed: true; readonly to: State; readonly effect: string }
  | { readonly allowed: false; readonly code: ErrorCode };

/** Index of a state x event pair in the coverage matrix. */
export function pairIndex(state: State, event: Event): number {
  return states.indexOf(state) * events.length + events.indexOf(event);
}

/** The pairs the table marks reachable: coverage is measured against these. */
export const reachablePairs: readonly (readonly [State, Event])[] = states.flatMap((s) =>
  events.flatMap((e) => {
    const outcome = transitions[s][e];
    return isAllowed(outcome) && outcome.reachable === false ? [] : [[s, e] as const];
  })
);

/** Kinds of objects custody itself makes (memory blocks, pinned buffers, capsules): named `custody.*`. */
export function isCustodyKind(kind: string): boolean {
  return kind.startsWith("custody.");
}

/** The whole model of one run. */
export class Model {
  readonly natives: NativeModel[] = [];
  readonly wrappers: WrapperModel[] = [];
  /** state x event counts, as the model applied them. */
  readonly coverage: Uint32Array;
  /** Forced collections so far in this run. */
  collections = 0;
  /** Bumped whenever the set of wrappers JS holds changes: lists of them can be reused until then. */
  heldVersion = 0;
  /** What {@linkcode liveNatives} and {@linkcode liveEntries} report, kept by the records as they change. */
  readonly #live: LiveCounts = { natives: 0, entries: 0 };

  constructor(coverage: Uint32Array = new Uint32Array(states.length * events.length)) {
    this.coverage = coverage;
  }

  /** A new native object. */
  addNative(kind: string): NativeModel {
    const native = new NativeRecord(this.natives.length, kind, this.#live);
    this.natives.push(native);
    return native;
  }

  /** A new wrapper on a new registry entry for `native`. */
  addWrapper(native: NativeModel, state: State): WrapperModel {
    const wrapper: WrapperModel = { id: this.wrappers.length, native, state, cause: undefined, held: true, collected: false, destroyed: false, keeps: undefined };
    this.wrappers.push(wrapper);
    this.heldVersion++;
    native.entry = wrapper;
    return wrapper;
  }

  /** JS takes a strong reference to `wrapper` again, or drops it. */
  hold(wrapper: WrapperModel, held: boolean): void {
    wrapper.held = held;
    this.heldVersion++;
  }

  /** What the table predicts for `event` on `wrapper`. */
  predict(wrapper: WrapperModel, event: Event): Prediction {
    const outcome = transitions[wrapper.state][event];
    if (isAllowed(outcome)) return { allowed: true, to: outcome.to, effect: outcome.effect };
    const after = wrapper.cause === undefined ? undefined : outcome.errorAfter?.[wrapper.cause];
    return { allowed: false, code: after ?? outcome.error };
  }

  /** Counts the pair and moves the wrapper as the table says; returns the prediction. */
  apply(wrapper: WrapperModel, event: Event): Prediction {
    this.coverage[pairIndex(wrapper.state, event)]++;
    const prediction = this.predict(wrapper, event);
    if (!prediction.allowed) return prediction;
    if (prediction.to === "invalid" && wrapper.state !== "invalid") wrapper.cause = event;
    wrapper.state = prediction.to;
    switch (prediction.effect) {
      case "destroy":
        wrapper.destroyed = true;
        this.dropEntry(wrapper);
        this.destroyKept(wrapper.native);
        break;
      case "forget":
        this.dropEntry(wrapper);
        break;
    }
    if (wrapper.state === "invalid") this.releaseKeepAlive(wrapper);
    return prediction;
  }

  /** The first refusal among `[wrapper, event]` pairs, in argument order, or undefined. */
  firstRefusal(pairs: readonly (readonly [WrapperModel, Event])[]): ErrorCode | undefined {
    for (const [wrapper, event] of pairs) {
      const prediction = this.predict(wrapper, event);
      if (!prediction.allowed) return prediction.code;
    }
    return undefined;
  }

  /** Counts a refused pair without changing anything. */
  count(wrapper: WrapperModel, event: Event): void {
    this.coverage[pairIndex(wrapper.state, event)]++;
  }

  private dropEntry(wrapper: WrapperModel): void {
    if (wrapper.native.entry === wrapper) wrapper.native.entry = undefined;
  }

  /** The registry runs the destructor now, or once the last keep-alive is dropped. */
  private destroyKept(native: NativeModel): void {
    if (native.keptBy.size > 0) native.destroyDeferred = true;
    else this.destroyNative(native);
  }

  /** A renderer's keep-alive goes (its wrapper is invalid, or its source replaced). */
  releaseKeepAlive(renderer: WrapperModel): void {
    const kept = renderer.keeps;
    if (kept === undefined) return;
    renderer.keeps = undefined;
    kept.native.keptBy.delete(renderer);
    if (kept.native.keptBy.size === 0 && kept.native.destroyDeferred) {
      kept.native.destroyDeferred = false;
      this.destroyNative(kept.native);
    }
  }

  /** Makes `renderer` keep `patient` alive (replacing what it kept). */
  keep(renderer: WrapperModel, patient: WrapperModel | undefined): void {
    if (patient !== undefined) patient.native.keptBy.add(renderer);
    const previous = renderer.keeps;
    renderer.keeps = patient;
    if (previous !== undefined && previous !== patient) {
      previous.native.keptBy.delete(renderer);
      if (previous.native.keptBy.size === 0 && previous.native.destroyDeferred) {
        previous.native.destroyDeferred = false;
        this.destroyNative(previous.native);
      }
    } else if (previous === patient && patient !== undefined) {
      // Setting the same source takes one keep-alive and drops the old one: no change.
    }
  }

  /**
   * The native destructor runs: a window first destroys its children, whose registry
   * entries (linked children) die with it as `parentDestroyed`.
   */
  destroyNative(native: NativeModel): void {
    if (!native.alive) return;
    for (const child of native.children) {
      child.parent = undefined;
      const entry = child.entry;
      // The registry removed the linked child's entry with its parent's (the table's effect is `none`).
      if (entry !== undefined && entry.state === "child") {
        this.apply(entry, "parentDestroyed");
        child.entry = undefined;
      }
      this.destroyNative(child);
    }
    native.children = [];
    if (native.parent !== undefined) this.unlink(native);
    this.endViews(native);
    native.alive = false;
    native.destroyDeferred = false;
  }

  /** Native code destroyed it and told custody (close_hidden): its wrapper gets `nativeDestroyed`. */
  destroyNotified(native: NativeModel): void {
    const entry = native.entry;
    if (native.parent !== undefined) this.unlink(native);
    this.endViews(native);
    if (entry !== undefined) this.apply(entry, "nativeDestroyed");
    native.alive = false;
  }

  /** Makes `view` a registry view of `native` (see {@linkcode NativeModel.views}). */
  addView(native: NativeModel, view: NativeModel): void {
    native.views.push(view);
    view.viewOf = native;
  }

  /**
   * The views of `native` go down with its entry, their destructors not run: JS learns it as a
   * native destruction. A view that goes itself leaves its object's list.
   */
  private endViews(native: NativeModel): void {
    const views = native.views;
    native.views = [];
    for (const view of views) {
      view.viewOf = undefined;
      if (view.alive) this.destroyNotified(view);
    }
    const of = native.viewOf;
    if (of !== undefined) {
      of.views = of.views.filter((v) => v !== native);
      native.viewOf = undefined;
    }
  }

  /** Native parent link, newest child first. */
  link(window: NativeModel, widget: NativeModel): void {
    if (widget.parent === window) return;
    if (widget.parent !== undefined) this.unlink(widget);
    widget.parent = window;
    window.children.unshift(widget);
  }

  unlink(widget: NativeModel): void {
    const parent = widget.parent;
    if (parent === undefined) return;
    parent.children = parent.children.filter((c) => c !== widget);
    widget.parent = undefined;
  }

  /** Objects of the widget library alive now (custody's own kinds, memory and capsules, are not its objects). */
  liveNatives(): number {
    return this.#live.natives;
  }

  /** Registry entries alive now: one per native object with an entry. */
  liveEntries(): number {
    return this.#live.entries;
  }

  /**
   * Both counts recounted from every record: what the kept counts must equal (every run's
   * cleanup checks this; the oracles read the kept counts after every command).
   */
  recount(): { natives: number; entries: number } {
    let natives = 0, entries = 0;
    for (const native of this.natives) {
      if (native.alive && !isCustodyKind(native.kind)) natives++;
      if (native.entry !== undefined) entries++;
    }
    return { natives, entries };
  }
}

/** The model's live counts. */
interface LiveCounts {
  natives: number;
  entries: number;
}

/**
 * A native object's record. `alive` and `entry` update the model's live counts as they
 * change, so that the oracles after every command cost the same in a run's 4000th command
 * as in its first (counting every record made runs quadratic).
 */
class NativeRecord implements NativeModel {
  parent: NativeModel | undefined = undefined;
  children: NativeModel[] = [];
  visible = true;
  source: NativeModel | undefined = undefined;
  readonly keptBy = new Set<WrapperModel>();
  destroyDeferred = false;
  hasCallback = false;
  views: NativeModel[] = [];
  viewOf: NativeModel | undefined = undefined;
  #alive = true;
  #entry: WrapperModel | undefined = undefined;
  readonly #counted: boolean;

  constructor(readonly id: number, readonly kind: string, private readonly live: LiveCounts) {
    this.#counted = !isCustodyKind(kind);
    if (this.#counted) live.natives++;
  }

  get alive(): boolean {
    return this.#alive;
  }
  set alive(alive: boolean) {
    if (alive === this.#alive) return;
    this.#alive = alive;
    if (this.#counted) this.live.natives += alive ? 1 : -1;
  }

  get entry(): WrapperModel | undefined {
    return this.#entry;
  }
  set entry(entry: WrapperModel | undefined) {
    if ((entry === undefined) !== (this.#entry === undefined)) this.live.entries += entry === undefined ? -1 : 1;
    this.#entry = entry;
  }
}
