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
 * - A capsule made from a `Pointer` into memory custody owns is derived from it, as a cast is:
 *   it keeps the memory alive and is invalid, for JS and native code, once the memory ends.
 *
 * @module
 */
import { runtime } from "./ffi/mod.ts";
import { checkAddress } from "./address.ts";
import { CustodyError } from "./errors.ts";
import { forgetDestructor, forgetDestructorLater, registerDestructor, takeDestructorError, trampolineAddress } from "./memory/destructors.ts";
import { locate, Pointer } from "./memory/pointer.ts";
import { apply, attach, type Attachment, attachment, borrow, checkEvent, handleOf, methodCauses, type NativeObject, type ObjectType, own, recordOf, use } from "./ownership/wrapper.ts";
import * as registry from "./registry.ts";

/**
 * A capsule's destructor: the address of a native `void destroy(void *pointer, void *context)`,
 * or a JS function (run on the JS thread; native code must destroy such capsules there).
 */
export type CapsuleDestructor = number | ((pointer: number, context: number) => void);

/** Options of {@linkcode Capsule.create}. */
export interface CapsuleOptions {
  /**
   * Runs once when the capsule is released, disposed, collected or destroyed by native code;
   * never after a consume, nor, for a capsule made from a Pointer, once the memory ended (see
   * {@linkcode Capsule}). Custody holds a JS one until the capsule ends, so it must not refer to
   * the capsule: it would keep it from ever being collected. It is given the pointer and context.
   */
  readonly destructor?: CapsuleDestructor | null;
  /** A number the destructor is given (PyCapsule's context); default 0. */
  readonly context?: number;
}

/** Returns `name` if it can name a capsule: a string, or null for the null name. */
function checkName(name: unknown, action: string): string | null {
  if (name !== null && typeof name !== "string") throw new CustodyError("INVALID_ARGUMENT", `${action}: a capsule name is a string or null, not ${typeof name}`);
  return name;
}

/** Returns `destructor` if it can be a capsule's destructor: a function, an address, or null for none. */
function checkDestructor(destructor: unknown, action: string): CapsuleDestructor | null {
  if (destructor === null || typeof destructor === "function") return destructor as CapsuleDestructor | null;
  return checkAddress(destructor as number, action);
}

function typeFor(name: string | null, destructor: number): ObjectType {
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

/** The attachment slot of a capsule's {@linkcode DestructorState} on its registry wrapper. */
const stateSlot = "capsule:destructor";

/**
 * What a capsule's destructor needs, attached to its registry wrapper: shared by every
 * Capsule object of the entry (a new wrapper of the entry takes it over), and closed when the
 * entry ends. It never reaches a Capsule, which the wrapper's internals would keep alive.
 */
class DestructorState implements Attachment {
  readonly #handle: registry.Handle;
  context: number;
  /** The trampoline context of a JS destructor, 0 for a native one or none. */
  registered = 0;
  /**
   * The memory a capsule made from a {@linkcode Pointer} is a child of, held as a derived
   * pointer holds it; through the wrapper's internals until the capsule ends, so the memory
   * outlives it even when both are collected together. Undefined for any other capsule.
   */
  readonly memory: Pointer | undefined;

  constructor(handle: registry.Handle, context: number, memory: Pointer | undefined) {
    this.#handle = handle;
    this.context = context;
    this.memory = memory;
  }

  /**
   * Before a capsule over memory ends itself: a pinned buffer that lost that memory behind
   * custody's back (detached, not used since, so its pin is still registered) leaves the
   * destructor nothing to be handed. It is taken from the entry.
   */
  spareLostMemory(): void {
    if (this.memory !== undefined && !this.memory.isValid && registry.isLive(this.#handle)) registry.setDestructor(this.#handle, 0);
  }

  close(): void {
    // The garbage collector closes attachments before it destroys the entry: a capsule still
    // registered now is ending itself. Every other end comes after the entry died.
    this.spareLostMemory();
    if (this.registered !== 0) forgetDestructorLater(this.registered);
  }
}

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

/**
 * A named pointer with a destructor and a context, shared with native code through the registry.
 *
 * A capsule made from a {@linkcode Pointer} into memory custody owns is derived from that
 * memory, as a cast is: it holds the memory, which cannot be collected while the capsule
 * lives, and its registry entry is a child of the memory's, so the moment the memory ends
 * (released, destroyed natively, a pinned buffer detached) the capsule is invalid, for JS and
 * native code alike. Its destructor runs at most once, and only when the capsule ends first
 * (`release()`, `using`, garbage collection, or native code's `custody_capsule_destroy`),
 * while its memory is still there: its entry is a registry view, whose destructor never runs
 * when an ancestor's end takes it along. A capsule that ends with its memory never runs it,
 * since it would be handed memory that is freed or no longer custody's.
 *
 * @example A capsule over memory ends with the memory; its destructor does not run
 * ```ts
 * import { Capsule } from "./capsule.ts";
 * import { alloc } from "./memory/alloc.ts";
 * import { types } from "./memory/types.ts";
 * let runs = 0;
 * const memory = alloc(types.u64);
 * const capsule = Capsule.create(memory, "example.memory", { destructor: () => runs++ });
 * memory.release();
 * console.log(capsule.isValid(), runs); // false 0
 * ```
 */
export class Capsule {
  readonly #object: NativeObject;
  readonly #name: string | null;
  readonly #state: DestructorState;

  private constructor(object: NativeObject, name: string | null, state: DestructorState) {
    this.#object = object;
    this.#name = name;
    this.#state = state;
  }

  static {
    wrapperOfCapsule = (capsule) => capsule.#object;
  }

  /**
   * A new capsule JS owns: its destructor runs once, on `release()`, `using` or garbage
   * collection, unless it is consumed first. Made from a {@linkcode Pointer} into memory
   * custody owns, it is derived from that memory (see {@linkcode Capsule}). Every argument is
   * checked before anything is registered: a refused create leaves nothing behind.
   *
   * @throws {CustodyError} `NULL_POINTER` for a null pointer, `ALREADY_OWNED` when a live capsule
   * has that pointer and name, `NAME_TOO_LONG`, `INVALID_ARGUMENT` for a name that is not a
   * string or null, or a bad address, context or destructor; `INVALID_OBJECT` for a Pointer
   * whose memory was released.
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
   *
   * @example Over memory: the destructor runs when the capsule ends first, the memory still there
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * import { alloc } from "./memory/alloc.ts";
   * import { types } from "./memory/types.ts";
   * using memory = alloc(types.u64, 7n);
   * const capsule = Capsule.create(memory, "example.u64", {
   *   destructor: () => console.log(memory.value), // 7n
   * });
   * capsule.release();
   * ```
   */
  static create(pointer: number | Pointer, name: string | null, options: CapsuleOptions = {}): Capsule {
    checkName(name, "Cannot create a capsule");
    const action = `Cannot create capsule ${describe(name)}`;
    if (typeof options !== "object" || options === null) {
      throw new CustodyError("INVALID_ARGUMENT", `${action}: its options must be an object, not ${options === null ? "null" : typeof options}`);
    }
    const destructor = checkDestructor(options.destructor ?? null, `${action} with that destructor`);
    const context = checkAddress(options.context ?? 0, `${action} with that context`);
    // A Pointer into memory nobody owns (a cast of a raw address) is only its address.
    const memoryOwner = pointer instanceof Pointer ? locate(pointer).block.owner : null;
    const address = pointer instanceof Pointer ? pointer.address : checkAddress(pointer, action);
    if (address === 0) throw new CustodyError("NULL_POINTER", `${action}: the pointer is NULL`);
    // Registered without a destructor: one that destroys, at the memory's own address, is
    // refused next to the memory's owner. #install gives the entry its own.
    const object = own(typeFor(name, 0), address);
    const handle = handleOf(object);
    const state = new DestructorState(handle, context, memoryOwner === null ? undefined : pointer as Pointer);
    if (memoryOwner !== null) {
      registry.setParent(handle, handleOf(memoryOwner));
      registry.setView(handle, true);
    }
    attach(object, stateSlot, state);
    const capsule = new Capsule(object, name, state);
    capsule.#install(destructor);
    return capsule;
  }

  /**
   * The JS side of a capsule made natively (`custody_capsule_new`) or by another JS capsule,
   * if `name` is exactly its name. A capsule native code registered with owner code 1 is
   * owned by JS from now on; any other is borrowed (native code destroys it).
   *
   * @throws {CustodyError} `NAME_MISMATCH`, `STALE_HANDLE`, `FORGED_HANDLE` (also for a
   * handle that is not an object), `INVALID_ARGUMENT` for a name that is not a string or null.
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
    if (typeof handle !== "object" || handle === null) {
      throw new CustodyError("FORGED_HANDLE", `Cannot wrap a capsule from ${handle === null ? "null" : `a value of type ${typeof handle}`}: a handle is an object with a slot and a generation`);
    }
    const nameId = registry.typeName(checkName(name, "Cannot wrap a capsule"));
    const address = registry.pointerOf(handle, nameId);
    const info = registry.info(handle);
    // borrow() returns the wrapper custody holds for the entry, in the state its owner code says.
    const object = borrow(typeFor(name, info.destructor), address);
    if (handleOf(object).slot !== handle.slot) {
      throw new CustodyError("NOT_FOUND", `Cannot wrap capsule ${handle.slot}:${handle.generation}: another capsule of that pointer and name is registered first`);
    }
    const held = attachment(object, stateSlot);
    if (held instanceof DestructorState) return new Capsule(object, name, held);
    const state = new DestructorState(handle, info.context, undefined);
    attach(object, stateSlot, state);
    return new Capsule(object, name, state);
  }

  /**
   * The live capsule at `pointer` named exactly `name`, or undefined.
   *
   * @throws {CustodyError} `INVALID_ARGUMENT` for a bad address, or a name that is not a string or null.
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
    const handle = registry.find(pointer, registry.typeName(checkName(name, "Cannot look up a capsule")));
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
    this.#use();
    return this.#state.context;
  }

  /** The ownership state of the capsule's JS side (`owned`, `borrowed`, ... or `invalid`). */
  get state(): NativeObject["state"] {
    return this.#object.state;
  }

  /**
   * The pointer, if `name` is exactly the capsule's name (PyCapsule_GetPointer).
   *
   * @throws {CustodyError} `NAME_MISMATCH` for another name, `INVALID_ARGUMENT` for a name that
   * is not a string or null, `INVALID_OBJECT` once released or consumed, or once the memory it
   * was made from ended.
   *
   * @example Only a string or null is a name
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * using capsule = Capsule.create(0x8000, "");
   * console.log(capsule.get("") === 0x8000); // true
   * try {
   *   capsule.get(undefined as never);
   * } catch (error) {
   *   console.log((error as { code: string }).code); // "INVALID_ARGUMENT"
   * }
   * ```
   */
  get(name: string | null): number {
    checkName(name, `Cannot get the pointer of capsule ${describe(this.#name)}`);
    this.#use();
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
   * Whether the capsule is usable and, if `name` is given, named exactly `name` (false for
   * anything that is not a name). Never throws.
   *
   * @example
   * ```ts
   * import { Capsule } from "./capsule.ts";
   * using capsule = Capsule.create(0x4000, null);
   * console.log(capsule.isValid(null), capsule.isValid("x"), capsule.isValid()); // true false true
   * console.log(capsule.isValid(0 as never)); // false
   * ```
   */
  isValid(name?: string | null): boolean {
    try {
      if (!this.#memoryIsValid() || !this.#object.isValid) return false;
      return name === undefined || registry.typeName(checkName(name, "Cannot compare capsule names")) === registry.typeName(this.#name);
    } catch {
      return false;
    }
  }

  /**
   * Replaces the destructor (PyCapsule_SetDestructor); null removes it, so releasing the
   * capsule destroys nothing.
   *
   * @throws {CustodyError} `INVALID_OBJECT` once released or consumed, `INVALID_ARGUMENT` for
   * a destructor that is neither a function, an address nor null (the old one stays).
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
    this.#use();
    this.#install(checkDestructor(destructor, "Cannot set a capsule's destructor"));
  }

  /**
   * Replaces the context the destructor is given (PyCapsule_SetContext).
   *
   * @throws {CustodyError} `INVALID_OBJECT` once released or consumed.
   */
  setContext(context: number): void {
    this.#use();
    checkAddress(context, "Cannot set the context of a capsule");
    const state = this.#state;
    // A JS destructor is given the context by its closure.
    if (state.registered === 0) registry.setDestructor(this.handle, registry.info(this.handle).destructor, context);
    state.context = context;
  }

  /** The checks of every use; it says so when the capsule ended with the memory it was made from. */
  #use(): void {
    const memory = this.#state.memory;
    // A use of the capsule is a use of its memory, checked as every use of a pointer into it
    // is: a pinned buffer detached behind custody's back throws BUFFER_DETACHED there, once,
    // and the end of its pin takes the capsule along.
    if (memory !== undefined && this.#object.isValid) void memory.address;
    if (this.#endedWithMemory()) throw this.#memoryEnded("use");
    use(this.#object);
  }

  /** Whether the memory the capsule was made from (if any) may still be used, as its pointer's `isValid` says. Never throws. */
  #memoryIsValid(): boolean {
    return this.#state.memory?.isValid ?? true;
  }

  /** Whether the capsule ended with its memory: its entry went down with the memory's, which its wrapper records as a native destruction. */
  #endedWithMemory(): boolean {
    return !this.#memoryIsValid() && recordOf(this.#object).cause?.event === "nativeDestroyed";
  }

  #memoryEnded(action: string): CustodyError {
    return new CustodyError("INVALID_OBJECT", `Cannot ${action} capsule ${describe(this.#name)}: the memory it was made from ended, and the capsule with it (${this.#state.memory})`);
  }

  #install(destructor: CapsuleDestructor | null): void {
    const state = this.#state;
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

  /** JS is about to end the capsule it owns: see {@linkcode DestructorState.spareLostMemory}. */
  #spareLostMemory(): void {
    if (this.#object.state === "owned") this.#state.spareLostMemory();
  }

  /**
   * The consume-once hand-off: returns the pointer if `name` matches exactly, and the capsule
   * is invalid from now on, its destructor never run: the consumer destroys the object.
   *
   * @throws {CustodyError} `NAME_MISMATCH` (nothing changed), `INVALID_ARGUMENT` for a name
   * that is not a string or null (nothing changed), `INVALID_OBJECT` when it was consumed or
   * released already, `NOT_OWNER` for a capsule that belongs to a parent or to native code,
   * `KEPT_ALIVE` while a keep-alive holds it.
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
    checkName(name, `Cannot consume capsule ${describe(this.#name)}`);
    const pointer = this.get(name);
    checkEvent(this.#object, "consume");
    apply(this.#object, "consume", { event: "consume", by: `capsule.consume(${describe(name)})` }, { rule: "consume" });
    return pointer;
  }

  /**
   * Destroys the capsule now, running its destructor once.
   *
   * @throws {CustodyError} `NOT_OWNER` for a borrowed capsule, `DOUBLE_RELEASE`, `INVALID_OBJECT`
   * once consumed or once the memory it was made from ended; or what a JS destructor threw.
   */
  release(): void {
    if (this.#endedWithMemory()) throw this.#memoryEnded("release");
    this.#spareLostMemory();
    this.#object.release();
    const thrown = takeDestructorError();
    if (thrown !== undefined) throw thrown.error;
  }

  /** `using` support: releases an owned capsule, does nothing otherwise; safe to call twice. */
  [Symbol.dispose](): void {
    this.#spareLostMemory();
    this.#object[Symbol.dispose]();
    const thrown = takeDestructorError();
    if (thrown !== undefined) throw thrown.error;
  }

  /** `Capsule "dltensor" (owned)`; one made from a Pointer adds `over memory custody owns` while valid. */
  toString(): string {
    const state = this.#object.state;
    return `Capsule ${describe(this.#name)} (${state})${this.#state.memory === undefined || state === "invalid" ? "" : " over memory custody owns"}`;
  }
}
