/**
 * Capsules, after Python's PyCapsule: a named pointer with a destructor and a context,
 * passed between libraries that agree on the name. A capsule is a registry entry whose type
 * name is the capsule's name, so native code sees the same capsules through the C ABI
 * (`custody_capsule_new`, `custody_capsule_get`, `custody_capsule_is_valid`,
 * `custody_capsule_consume`, `custody_capsule_lookup`) and JS sees the ones native code made
 * ({@linkcode Capsule.fromHandle}, {@linkcode Capsule.lookup}). Its JS side is a registry
 * wrapper moved only by the ownership transition table.
 *
 * - `get(name)` needs the exact name; the null name matches only null.
 * - `isValid(name)` never throws.
 * - `consume(name)` is the consume-once hand-off (DLPack's protocol): the consumer gets the
 *   pointer and destroys the object from then on; the capsule's destructor does not run, and
 *   a second consumer, in JS or native code, fails cleanly.
 * - Names are interned by the native core, copied once and never freed, so no name buffer can
 *   die before its capsule.
 *
 * @module
 */
import { runtime } from "./ffi/mod.ts";
import { checkAddress } from "./address.ts";
import { CustodyError } from "./errors.ts";
import { forgetDestructor, forgetDestructorLater, registerDestructor, takeDestructorError, trampolineAddress } from "./memory/destructors.ts";
import { Pointer } from "./memory/pointer.ts";
import { apply, attach, borrow, checkEvent, handleOf, methodCauses, type NativeObject, type ObjectType, own, use } from "./ownership/wrapper.ts";
import * as registry from "./registry.ts";

/**
 * A capsule's destructor: the address of a native `void destroy(void *pointer, void *context)`,
 * or a JS function (run on the JS thread; native code must destroy such capsules there).
 */
export type CapsuleDestructor = number | ((pointer: number, context: number) => void);

/** Options of {@linkcode Capsule.create}. */
export interface CapsuleOptions {
  /** Runs once when the capsule is released, disposed or collected; never after a consume. */
  readonly destructor?: CapsuleDestructor | null;
  /** A number the destructor is given (PyCapsule's context); default 0. */
  readonly context?: number;
}

function typeFor(name: string | null, destructor: number): ObjectType {
  if (name !== null && typeof name !== "string") throw new CustodyError("INVALID_ARGUMENT", `A capsule name is a string or null, not ${typeof name}`);
  return {
    name: name ?? "(null)",
    nameId: registry.typeName(name),
    destructor,
    notifiesDestruction: false,
    nativeDestructor: runtime.nativePointer(destructor),
    causes: methodCauses(name ?? "(null)"),
  };
}

function describe(name: string | null): string {
  return name === null ? "the null name" : JSON.stringify(name);
}

/** What a capsule's JS destructor needs; kept apart from the capsule so it never keeps the capsule alive. */
interface DestructorState {
  context: number;
  /** The trampoline context of a JS destructor, 0 for a native one or none. */
  registered: number;
}

/** One per registry wrapper, shared by every Capsule object of the same capsule. */
const destructorStates = new WeakMap<NativeObject, DestructorState>();

// Set by Capsule's static block: the only way to reach a capsule's registry wrapper.
let wrapperOfCapsule: (capsule: Capsule) => NativeObject;

/**
 * The registry wrapper behind `capsule`: the object custody registers its finalizer on, so
 * the capsule's entry ends only once this wrapper is collected (which can be a collection
 * after the capsule itself, on Bun). For tests and the fuzz model; capsule methods are the API.
 *
 * @example
 * ```ts
 * import { Capsule, capsuleWrapper } from "./capsule.ts";
 * using capsule = Capsule.create(0x7000, "example.inner");
 * console.log(capsuleWrapper(capsule).state); // "owned"
 * ```
 */
export function capsuleWrapper(capsule: Capsule): NativeObject {
  return wrapperOfCapsule(capsule);
}

/** A named pointer with a destructor and a context, shared with native code through the registry. */
export class Capsule {
  readonly #object: NativeObject;
  readonly #name: string | null;
  readonly #state: DestructorState;
  /** A {@linkcode Pointer} the capsule was made from: its memory lives at least as long. */
  readonly #keep: Pointer | undefined;

  private constructor(object: NativeObject, name: string | null, state: DestructorState, keep: Pointer | undefined) {
    this.#object = object;
    this.#name = name;
    this.#state = state;
    this.#keep = keep;
  }

  static {
    wrapperOfCapsule = (capsule) => capsule.#object;
  }

  /**
   * A new capsule JS owns: its destructor runs once, on `release()`, `using` or garbage
   * collection, unless it is consumed first.
   *
   * @throws {CustodyError} `NULL_POINTER` for a null pointer, `ALREADY_OWNED` when a live capsule
   * has that pointer and name, `NAME_TOO_LONG`, `INVALID_ARGUMENT`.
   *
   * @example
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * let destroyed = 0;
   * const capsule = Capsule.create(0x1000, "example.buffer", { destructor: () => destroyed++ });
   * console.log(capsule.get("example.buffer") === 0x1000); // true
   * capsule.release();
   * console.log(destroyed); // 1
   * ```
   */
  static create(pointer: number | Pointer, name: string | null, options: CapsuleOptions = {}): Capsule {
    const address = pointer instanceof Pointer ? pointer.address : checkAddress(pointer, `Cannot create capsule ${describe(name)}`);
    if (address === 0) throw new CustodyError("NULL_POINTER", `Cannot create capsule ${describe(name)}: the pointer is NULL`);
    const context = checkAddress(options.context ?? 0, `Cannot create capsule ${describe(name)} with that context`);
    const object = own(typeFor(name, 0), address);
    const state: DestructorState = { context, registered: 0 };
    destructorStates.set(object, state);
    // The attachment must not reach the capsule: the wrapper's internals hold it strongly.
    attach(object, "capsule:destructor", { close: () => state.registered === 0 || forgetDestructorLater(state.registered) });
    const capsule = new Capsule(object, name, state, pointer instanceof Pointer ? pointer : undefined);
    capsule.#install(options.destructor ?? null);
    return capsule;
  }

  /**
   * The JS side of a capsule made natively (`custody_capsule_new`) or by another JS capsule,
   * if `name` is exactly its name. A capsule native code registered with owner code 1 is
   * owned by JS from now on; any other is borrowed (native code destroys it).
   *
   * @throws {CustodyError} `NAME_MISMATCH`, `STALE_HANDLE`, `FORGED_HANDLE`.
   *
   * @example
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * const made = Capsule.create(0x2000, "example.shared");
   * const seen = Capsule.fromHandle(made.handle, "example.shared");
   * console.log(seen === made, seen.get("example.shared") === 0x2000); // false true
   * made.release();
   * console.log(seen.isValid()); // false
   * ```
   */
  static fromHandle(handle: registry.Handle, name: string | null): Capsule {
    const nameId = registry.typeName(name);
    const address = registry.pointerOf(handle, nameId);
    const info = registry.info(handle);
    // borrow() returns the wrapper custody holds for the entry, in the state its owner code says.
    const object = borrow(typeFor(name, info.destructor), address);
    if (handleOf(object).slot !== handle.slot) {
      throw new CustodyError("NOT_FOUND", `Cannot wrap capsule ${handle.slot}:${handle.generation}: another capsule of that pointer and name is registered first`);
    }
    let state = destructorStates.get(object);
    if (state === undefined) {
      state = { context: info.context, registered: 0 };
      destructorStates.set(object, state);
    }
    return new Capsule(object, name, state, undefined);
  }

  /**
   * The live capsule at `pointer` named exactly `name`, or undefined.
   *
   * @example
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * using made = Capsule.create(0x3000, "example.found");
   * console.log(Capsule.lookup(0x3000, "example.found")?.get("example.found") === 0x3000); // true
   * console.log(Capsule.lookup(0x3000, "example.other")); // undefined
   * ```
   */
  static lookup(pointer: number, name: string | null): Capsule | undefined {
    const handle = registry.find(pointer, registry.typeName(name));
    return handle === undefined ? undefined : Capsule.fromHandle(handle, name);
  }

  /** The capsule's name (null for the null name). */
  get name(): string | null {
    return this.#name;
  }

  /** The registry handle, for native code (`custody_capsule_get(slot, generation, name, &out)`). */
  get handle(): registry.Handle {
    return handleOf(this.#object);
  }

  /** The context given to the destructor. */
  get context(): number {
    use(this.#object);
    return this.#state.context;
  }

  /** The ownership state of the capsule's JS side (`owned`, `borrowed`, ... or `invalid`). */
  get state(): NativeObject["state"] {
    return this.#object.state;
  }

  /**
   * The pointer, if `name` is exactly the capsule's name (PyCapsule_GetPointer).
   *
   * @throws {CustodyError} `NAME_MISMATCH` for another name, `INVALID_OBJECT` once released or consumed.
   */
  get(name: string | null): number {
    use(this.#object);
    const nameId = registry.typeName(name);
    try {
      return registry.pointerOf(this.handle, nameId);
    } catch (error) {
      if (error instanceof CustodyError && error.code === "NAME_MISMATCH") {
        throw new CustodyError("NAME_MISMATCH", `Cannot get the pointer of capsule ${describe(this.#name)} by ${describe(name)}: the name must match exactly`);
      }
      use(this.#object);
      throw error;
    }
  }

  /**
   * Whether the capsule is usable and, if `name` is given, named exactly `name`. Never throws.
   *
   * @example
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * using capsule = Capsule.create(0x4000, null);
   * console.log(capsule.isValid(null), capsule.isValid("x"), capsule.isValid()); // true false true
   * ```
   */
  isValid(name?: string | null): boolean {
    try {
      if (!this.#object.isValid) return false;
      return name === undefined || registry.typeName(name) === registry.typeName(this.#name);
    } catch {
      return false;
    }
  }

  /**
   * Replaces the destructor (PyCapsule_SetDestructor); null removes it, so releasing the
   * capsule destroys nothing.
   *
   * @throws {CustodyError} `INVALID_OBJECT` once released or consumed.
   *
   * @example
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * let runs = 0;
   * const capsule = Capsule.create(0x5000, "example.swap", { destructor: () => runs++ });
   * capsule.setDestructor(null);
   * capsule.release();
   * console.log(runs); // 0
   * ```
   */
  setDestructor(destructor: CapsuleDestructor | null): void {
    use(this.#object);
    this.#install(destructor);
  }

  /**
   * Replaces the context the destructor is given (PyCapsule_SetContext).
   *
   * @throws {CustodyError} `INVALID_OBJECT` once released or consumed.
   */
  setContext(context: number): void {
    use(this.#object);
    checkAddress(context, "Cannot set the context of a capsule");
    const info = registry.info(this.handle);
    if (this.#state.registered === 0) registry.setDestructor(this.handle, info.destructor, context);
    this.#state.context = context;
  }

  #install(destructor: CapsuleDestructor | null): void {
    const state = this.#state;
    if (destructor !== null && typeof destructor !== "function") checkAddress(destructor, "Cannot set a capsule's destructor");
    const previous = state.registered;
    if (typeof destructor === "function") {
      state.registered = registerDestructor((pointer) => destructor(pointer, state.context), true);
      registry.setDestructor(this.handle, trampolineAddress, state.registered);
    } else {
      state.registered = 0;
      registry.setDestructor(this.handle, destructor ?? 0, state.context);
    }
    if (previous !== 0) forgetDestructor(previous);
  }

  /**
   * The consume-once hand-off: returns the pointer if `name` matches exactly, and the capsule
   * is invalid from now on, its destructor never run: the consumer destroys the object.
   *
   * @throws {CustodyError} `NAME_MISMATCH` (nothing changed), `INVALID_OBJECT` when it was
   * consumed or released already, `NOT_OWNER` for a capsule that belongs to a parent or to
   * native code, `KEPT_ALIVE` while a keep-alive holds it.
   *
   * @example A second consumer fails cleanly
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * let runs = 0;
   * const capsule = Capsule.create(0x6000, "dltensor", { destructor: () => runs++ });
   * console.log(capsule.consume("dltensor") === 0x6000); // true
   * try {
   *   capsule.consume("dltensor");
   * } catch (error) {
   *   console.log((error as { code: string }).code); // "INVALID_OBJECT"
   * }
   * console.log(runs); // 0
   * ```
   */
  consume(name: string | null): number {
    const pointer = this.get(name);
    checkEvent(this.#object, "consume");
    apply(this.#object, "consume", { event: "consume", by: `capsule.consume(${describe(name)})` }, { rule: "consume" });
    return pointer;
  }

  /**
   * Destroys the capsule now, running its destructor once.
   *
   * @throws {CustodyError} `NOT_OWNER` for a borrowed capsule, `DOUBLE_RELEASE`, `INVALID_OBJECT`
   * once consumed; or what a JS destructor threw.
   */
  release(): void {
    this.#object.release();
    const thrown = takeDestructorError();
    if (thrown !== undefined) throw thrown.error;
  }

  /** `using` support: releases an owned capsule, does nothing otherwise; safe to call twice. */
  [Symbol.dispose](): void {
    this.#object[Symbol.dispose]();
    const thrown = takeDestructorError();
    if (thrown !== undefined) throw thrown.error;
  }

  /** `Capsule "dltensor" at 0x6000 (owned)`. */
  toString(): string {
    return `Capsule ${describe(this.#name)} (${this.#object.state})${this.#keep === undefined ? "" : " over memory custody owns"}`;
  }
}
