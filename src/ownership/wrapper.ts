/**
 * Wrappers of native objects: one per live native object, each with an ownership record
 * moved only by the transition table, and a registry entry that custody's native core keeps
 * in step (destructor, parent, owner).
 *
 * Every event goes through the same three steps: check it against the table (throwing the
 * table's error, with nothing changed), perform its native effect (which may itself fail,
 * for example with `CYCLE`, still with nothing changed), then commit the new state.
 *
 * Objects can also die natively, behind JS's back: a parent's destructor cascades to its
 * children, native code notifies custody. The registry publishes that in the generation
 * table at once; a wrapper catches up on its next use, with one compare against the mapped
 * table, and records `parentDestroyed` or `nativeDestroyed` as the cause.
 *
 * Identity is keyed by registry handle, never by address: the same live native object always
 * comes back as the same wrapper, and a new object at a reused address gets a new one.
 *
 * Garbage collection is a safety net only (`collect` in the table): results never depend on
 * when, or whether, finalizers run.
 *
 * @module
 */
import { checkAddress } from "../address.ts";
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import * as registry from "../registry.ts";
import { generations } from "../registry.ts";
import { type Cause, check, commit, keptAliveError, type OwnershipRecord, permitted } from "./machine.ts";
import { type Allowed, type Effect, type Event, isAllowed, refusedWhileKeptAlive, type State, states, transitions } from "./transitions.ts";
import { SlotTable } from "./slot_table.ts";

/** A native type: its name and how its objects are destroyed. */
export interface ObjectType {
  readonly name: string;
  /** The type's interned name in the registry. */
  readonly nameId: number;
  /** The address of its native destructor `void (*)(void *object[, void *context])`, or 0. */
  readonly destructor: number;
  /** Native code reports the destruction of objects of this type (enables safe steals). */
  readonly notifiesDestruction: boolean;
  /** `destructor` in the runtime's pointer representation, made once for registrations. */
  readonly nativeDestructor: unknown;
  /**
   * Its destructor only frees the object's memory, reading nothing in it or behind it, so
   * objects of this type that keep one another alive may be destroyed in any order: a
   * keep-alive cycle among them is collected. Any other cycle stays (leaks() lists it), since
   * some destructor in it would run after an object it may still read.
   */
  readonly destructorFreesOnly?: boolean;
  /** What `release()` and `[Symbol.dispose]()` record as the cause, made once per type. */
  readonly causes: MethodCauses;
}

/** The causes of a type's own methods (see {@linkcode methodCauses}). */
export interface MethodCauses {
  readonly release: Cause;
  readonly dispose: Cause;
}

/**
 * The causes `release()` and `[Symbol.dispose]()` record for objects of the type `name`:
 * made with the type, since building them on every release cost a tenth of a create and
 * release on Deno.
 */
export function methodCauses(name: string): MethodCauses {
  return {
    release: { event: "release", by: `${name}.release()` },
    dispose: { event: "dispose", by: `${name}[Symbol.dispose]()` },
  };
}

/**
 * Describes a native type.
 *
 * @example
 * ```ts
 * import { objectType } from "./wrapper.ts";
 * const Window = objectType("Window");
 * console.log(Window.name, Window.destructor); // "Window" 0
 * ```
 */
export function objectType(
  name: string,
  options: { readonly destructor?: number; readonly notifiesDestruction?: boolean; readonly destructorFreesOnly?: boolean } = {},
): ObjectType {
  return {
    name,
    nameId: registry.typeName(name),
    destructor: options.destructor ?? 0,
    notifiesDestruction: options.notifiesDestruction ?? false,
    nativeDestructor: runtime.nativePointer(checkAddress(options.destructor ?? 0, `Cannot describe ${name}`)),
    destructorFreesOnly: options.destructorFreesOnly ?? false,
    causes: methodCauses(name),
  };
}

/** Owner codes written into the registry entry, so native code and dumps can tell. */
export const ownerCodes: Readonly<Record<State, number>> = { owned: 1, borrowed: 2, child: 3, native: 4, invalid: 0 };

/**
 * Whether the table lets a wrapper be used, by state: read once from the table. A plain
 * object, not a Set: a Set lookup measured several times slower on Deno's hot path.
 */
const usable: Readonly<Record<State, boolean>> = Object.fromEntries(
  states.map((s) => [s, isAllowed(transitions[s].use)]),
) as Record<State, boolean>;

/** A wrapper's private state; it is its own ownership record (one object less per wrapper). */
interface Internals extends OwnershipRecord {
  readonly type: ObjectType;
  /**
   * The native address as a number, or -1 until first needed: a binding's result arrives as
   * a runtime pointer, and on Deno turning one into a number costs more than a native call.
   */
  address: number;
  readonly handle: registry.Handle;
  /** `handle.slot`, one load closer for the checked-call path. */
  readonly slot: number;
  /**
   * The generation the slot has while the wrapper may be used, 0 once the wrapper is
   * invalid: one compare against the mapped generation table checks both the JS state and
   * the native entry on a call's hot path (0 never matches an issued slot).
   */
  expected: number;
  /** The parent's handle while the object is a child: tells a parent's death from its own. */
  parent: registry.Handle | undefined;
  /**
   * Objects this one keeps alive, by slot: strong references, so that no patient dies before
   * its nurse. Held here only if the type's destructor does more than free (see
   * `ObjectType.destructorFreesOnly`; otherwise the wrapper holds them, see `slotsOnWrapper`):
   * the finalization registry holds internals strongly, so a cycle through them is never collected.
   */
  keepAlives: Map<string, NativeObject[]> | undefined;
  /** The handles whose native keep-alive counts this object holds, one per count: what its end lets go. */
  keptHandles: registry.Handle[] | undefined;
  /** What ends with this object (callbacks bound to it), by slot. */
  attachments: Map<string, Attachment> | undefined;
  /**
   * The runtime's representation of the address, passed to native calls as it is; undefined
   * until first needed for an object known by its address.
   */
  native: unknown;
  /**
   * A newer wrapper took over this one's registry entry, and its attachments, after this one
   * was collected (its finalizer was still pending): the finalizer must then leave the entry alone.
   */
  superseded: boolean;
  /** This wrapper's weak reference, its identity once it left the nursery; undefined before. */
  ref: WeakRef<NativeObject> | undefined;
  /** The wrapper itself while it is in the nursery: its identity until the job ends. */
  held: NativeObject | undefined;
}

/** Something that must end when the object it is attached to becomes invalid. */
export interface Attachment {
  close(): void;
}

/**
 * Once the nursery holds this many, the wrappers still valid move into the slot table, still
 * held, and a fresh array takes the next ones. With 1024, a scavenge could find every
 * wrapper made since the previous one still held, and V8 then pretenured the allocation
 * sites of wrappers and handles (allocating them in the old generation from then on): the
 * lifecycle took 25 ns more than with the table instead of 20 ns less.
 */
const nurseryLimit = 128;

/**
 * Identity: the wrapper of each registry slot. A new wrapper starts in the nursery, held
 * strongly until the current job ends; only those still valid then get a WeakRef and a
 * finalizer. Both cost far more than the rest of a create and release together (each
 * measured 0.2-2 µs per object in a loop on Deno 2.9 and Bun 1.4, where V8 and JSC keep
 * every WeakRef target alive until the job ends anyway), so an object created and released
 * within one job pays for neither. The nursery holds nothing longer than a WeakRef would.
 *
 * The nursery is a young array. While a wrapper is in it, its slot's entry is its position
 * there, a number: neither store costs V8 an old-to-new write barrier, which a store of the
 * new wrapper into the long-lived slot table does. An owned create and release took 20 ns
 * less on Deno 2.9 than with every new wrapper stored in the table, and the same on Bun 1.4
 * (bench/ownership.ts).
 */
let nursery: Internals[] = new Array(nurseryLimit);
let nurseryLength = 0;
/**
 * The slots of wrappers that moved out of a full nursery during the current job: held until
 * it ends. Their WeakRefs wait for the end of the job too: V8 keeps every WeakRef target
 * made in a job alive until it ends, and scavenges that had to trace thousands of them made
 * each create of 50,000 kept objects about 90 ns slower.
 */
const movedSlots: number[] = [];
let endOfJobQueued = false;
/**
 * Each slot's newest wrapper: its internals once it left the nursery, its position in the
 * nursery before. A wrapper made for an entry whose previous wrapper was collected marks that
 * one superseded (see `Internals.superseded`).
 */
const internalsBySlot = new SlotTable<Internals | number>();

/**
 * Empties the nursery into the slot table: the wrappers still valid become their slots'
 * entries, still held; one that ended leaves its position behind, stale (`internalsAt` tells),
 * and one whose slot a newer wrapper took ends now.
 */
function emptyNursery(): void {
  const members = nursery, length = nurseryLength;
  nursery = new Array(nurseryLimit);
  nurseryLength = 0;
  for (let position = 0; position < length; position++) {
    const internals = members[position];
    if (internals.state === "invalid") continue;
    // A newer wrapper took its slot: its entry ended natively, unnoticed, and it will get no
    // finalizer. What ends with its object (a capsule's JS destructor, keep-alives) ends now.
    if (internalsBySlot.get(internals.slot) !== position) {
      catchUp(internals);
      continue;
    }
    internalsBySlot.swap(internals.slot, internals);
    movedSlots.push(internals.slot);
  }
}

/** The wrappers made in the job that are still valid get their WeakRef and finalizer; the others leave. */
function endOfJob(): void {
  endOfJobQueued = false;
  emptyNursery();
  for (const slot of movedSlots) {
    const internals = internalsBySlot.get(slot);
    // The slot may have been listed twice, or hold a newer wrapper whose entry ended.
    if (typeof internals !== "object" || internals.held === undefined) continue;
    const object = internals.held;
    internals.held = undefined;
    if (internals.state === "invalid") {
      internalsBySlot.delete(slot, internals);
      continue;
    }
    internals.ref = new WeakRef(object);
    // No unregister token: with one, Bun 1.4.5 spent about 22 µs per collected object in its
    // finalization machinery (9 ms per 50,000 without). A released wrapper's finalizer
    // finds it invalid and returns.
    finalizers.register(object, internals);
  }
  movedSlots.length = 0;
}

/** The internals of the newest wrapper of `slot`, in the nursery or out of it. */
function internalsAt(slot: number): Internals | undefined {
  const entry = internalsBySlot.get(slot);
  if (typeof entry !== "number") return entry;
  // A position left by an earlier nursery names some other slot's wrapper now, or none.
  const internals = nursery[entry];
  return internals?.slot === slot ? internals : undefined;
}

/**
 * Drops the identity entry of a wrapper that ends, unless its slot already names a newer one
 * or the wrapper is still held for the current job (whose end drops it).
 */
function forget(internals: Internals): void {
  if (internals.held === undefined) internalsBySlot.delete(internals.slot, internals);
}

const finalizers = new FinalizationRegistry<Internals>((internals) => {
  // The slot may hold a newer wrapper by now (the fuzz campaign found this): forget only this one's entry.
  forget(internals);
  // A safety net: whatever fails here has no caller to report to, and must not throw.
  try {
    release(internals);
    // A newer wrapper holds the entry (and took the attachments): this one's keep-alives are let go, nothing more.
    if (internals.superseded) return;
    if (catchUp(internals) || internals.state === "invalid") return;
    transition(internals, "collect", { event: "collect", by: "garbage collector" });
  } catch {
    // The registry refused (the entry died meanwhile): nothing is left to do.
  }
});

// Set by NativeObject's static block: the only way to reach a wrapper's private internals.
let internalsOf: (object: NativeObject) => Internals;
let construct: (internals: Internals) => NativeObject;

/**
 * A native object as JS holds it. Its methods are the ones every native object has;
 * bindings add the type's own.
 */
export class NativeObject {
  readonly #internals: Internals;

  /** Use {@linkcode own} or {@linkcode borrow}; never constructed directly. */
  protected constructor(internals: Internals) {
    this.#internals = internals;
  }

  static {
    internalsOf = (object) => object.#internals;
    construct = (internals) => new NativeObject(internals);
  }

  /** The native type's name. */
  get typeName(): string {
    return this.#internals.type.name;
  }

  /** Whether the object may be used. Never throws. */
  get isValid(): boolean {
    const internals = this.#internals;
    catchUp(internals);
    return usable[internals.state];
  }

  /** The ownership state (`owned`, `borrowed`, `child`, `native` or `invalid`). */
  get state(): State {
    catchUp(this.#internals);
    return this.#internals.state;
  }

  /**
   * The native address, for a call that uses the object.
   *
   * @throws {CustodyError} `INVALID_OBJECT` if the object is invalid.
   */
  get address(): number {
    return use(this);
  }

  /**
   * Destroys the native object now. Only for objects JS owns.
   *
   * @throws {CustodyError} `NOT_OWNER` if JS does not own it, `DOUBLE_RELEASE` if it was released before,
   * `INVALID_OBJECT` if it is invalid for another reason.
   */
  release(): void {
    apply(this, "release", this.#internals.type.causes.release);
  }

  /** `using` support: destroys an owned object, does nothing otherwise; safe to call twice. */
  [Symbol.dispose](): void {
    apply(this, "dispose", this.#internals.type.causes.dispose);
  }

  /** `Window at 0x1000 (owned)`. */
  toString(): string {
    return `${this.typeName} at 0x${addressOfInternals(this.#internals).toString(16)} (${this.state})`;
  }
}

/** Brings the record up to date with the registry; returns whether the object died natively. */
function catchUp(internals: Internals): boolean {
  const { handle, parent } = internals;
  if (internals.state === "invalid" || registry.isLive(handle)) return false;
  const parentDied = internals.state === "child" && parent !== undefined && !registry.isLive(parent);
  const event: Event = parentDied ? "parentDestroyed" : "nativeDestroyed";
  commit(internals, event, allowedFor(internals, event), { event, by: event === "parentDestroyed" ? "cascade" : "native notification" });
  internals.expected = 0;
  release(internals);
  return true;
}

/** What the table allows for `event` now; the subject for an error message is made only to throw one. */
function allowedFor(internals: Internals, event: Event): Allowed {
  return permitted(internals, event) ?? check(internals, event, subject(internals));
}

function subject(internals: Internals) {
  return new Subject(internals);
}

/** Names an object in error messages; the address is worked out only if a message needs it. */
class Subject {
  readonly #internals: Internals;
  constructor(internals: Internals) {
    this.#internals = internals;
  }
  get typeName(): string {
    return this.#internals.type.name;
  }
  get address(): number {
    return addressOfInternals(this.#internals);
  }
}

function addressOfInternals(internals: Internals): number {
  if (internals.address < 0) internals.address = runtime.addressOfNative(internals.native);
  return internals.address;
}

/**
 * The address of `object` for a native call, after checking it may be used.
 *
 * @throws {CustodyError} `INVALID_OBJECT` with the cause in the message.
 */
export function use(object: NativeObject): number {
  const internals = internalsOf(object);
  if (generations[internals.slot] === internals.expected) return addressOfInternals(internals);
  catchUp(internals);
  check(internals, "use", subject(internals));
  return addressOfInternals(internals);
}

/**
 * Whether `value` is a custody wrapper that may be used now. Never throws.
 *
 * @example
 * ```ts
 * import { isValid } from "./wrapper.ts";
 * console.log(isValid(42)); // false
 * ```
 */
export function isValid(value: unknown): boolean {
  return value instanceof NativeObject && value.isValid;
}

/** The native address of `object` whatever its state, for diagnostics; calls use {@linkcode use}. */
export function addressOf(object: NativeObject): number {
  return addressOfInternals(internalsOf(object));
}

/** What {@linkcode nativePointerFor} returns for a value that is not a wrapper of the type. */
export const notAWrapper: unknown = runtime.noPointer;

/**
 * The address of `value` for a native call, in the runtime's own representation (made once
 * per wrapper), if it is a usable wrapper of `type`; {@linkcode notAWrapper} otherwise.
 *
 * @throws {CustodyError} `INVALID_OBJECT` when it is a wrapper of that type but invalid.
 */
export const nativePointerFor: (value: unknown, type: ObjectType) => unknown = runtime.nativePointerIsAddress
  // Every wrapper has its pointer from the start (see `track`): the checked call's path is
  // checks and loads only.
  ? checkedNative
  : (value, type) => {
    const native = checkedNative(value, type);
    return native !== undefined ? native : lazyNative(internalsOf(value as NativeObject));
  };

/**
 * The pointer of `value` in the runtime's representation, undefined if not made yet, if it is
 * a wrapper of `type` (else {@linkcode notAWrapper}), after checking it may be used. It returns
 * the pointer itself: through a helper that returned the internals or undefined, a checked
 * call on Bun took 8 ns more (JSC; 70 ns against 62, the raw call 53, each alone in a process).
 *
 * @throws {CustodyError} `INVALID_OBJECT` when it is a wrapper of that type but invalid.
 */
function checkedNative(value: unknown, type: ObjectType): unknown {
  if (!(value instanceof NativeObject)) return notAWrapper;
  const internals = internalsOf(value);
  if (internals.type !== type && internals.type.nameId !== type.nameId) return notAWrapper;
  if (generations[internals.slot] !== internals.expected) use(value);
  return internals.native;
}

function lazyNative(internals: Internals): unknown {
  return internals.native = runtime.nativePointer(internals.address);
}

/** The registry handle of `object`. */
export function handleOf(object: NativeObject): registry.Handle {
  return internalsOf(object).handle;
}

/** The ownership record of `object` (read-only for callers). */
export function recordOf(object: NativeObject): Readonly<OwnershipRecord> {
  const internals = internalsOf(object);
  catchUp(internals);
  return internals;
}

function perform(internals: Internals, effect: Effect, parent: NativeObject | undefined): void {
  const { handle, type } = internals;
  switch (effect) {
    case "none":
      return;
    case "destroy":
      registry.destroy(handle);
      return;
    case "forget":
      registry.notifyDestroyed(handle);
      return;
    case "handOver":
      registry.setDestructor(handle, 0);
      return;
    case "link": {
      if (parent === undefined) throw new CustodyError("INVALID_ARGUMENT", `Cannot give ${type.name} a parent: none was named`);
      registry.setParent(handle, handleOf(parent));
      registry.setDestructor(handle, 0);
      internals.parent = handleOf(parent);
      return;
    }
    case "unlink":
      registry.setParent(handle, null);
      registry.setDestructor(handle, type.destructor);
      internals.parent = undefined;
      return;
  }
}

function transition(internals: Internals, event: Event, cause: Cause, rule?: string, parent?: NativeObject): void {
  const allowed = allowedFor(internals, event);
  perform(internals, allowed.effect, parent);
  commit(internals, event, allowed, cause, rule);
  if (allowed.to === "invalid") {
    internals.expected = 0;
    forget(internals);
    release(internals);
  } else if (registry.isLive(internals.handle)) {
    registry.setOwner(internals.handle, ownerCodes[allowed.to]);
  }
}

/**
 * Applies `event` to `object`: checks it, performs its native effect, commits the state.
 * `parent` names the new parent for `adopt` and `stealIntoParent`; `rule` says what decided
 * the transition, for `dump()`.
 *
 * @throws {CustodyError} the table's error, or the registry's (`CYCLE`), with nothing changed.
 */
export function apply(object: NativeObject, event: Event, cause: Cause, options: ApplyOptions = noOptions): void {
  const internals = internalsOf(object);
  catchUp(internals);
  if (options.parent !== undefined) use(options.parent);
  transition(internals, event, cause, options.rule, options.parent);
}

/** What {@linkcode apply} may be told besides the event. */
export interface ApplyOptions {
  readonly rule?: string;
  readonly parent?: NativeObject;
}

const noOptions: ApplyOptions = {};

/**
 * Refuses `event` on `object` before native code runs, with nothing changed: what the table
 * refuses in its state, then giving it away (an event of {@linkcode refusedWhileKeptAlive})
 * while a keep-alive holds it.
 *
 * @throws {CustodyError} the table's error, or `KEPT_ALIVE`.
 */
export function checkEvent(object: NativeObject, event: Event): void {
  const internals = internalsOf(object);
  catchUp(internals);
  allowedFor(internals, event);
  if (!refusedWhileKeptAlive.has(event) || registry.info(internals.handle).keepAlive === 0) return;
  throw keptAliveError(event, subject(internals));
}

/**
 * Checks every `[object, event]` pair first and applies them only if all are allowed, so a
 * call that steals several arguments either moves all of them or none.
 *
 * @throws {CustodyError} the first refusal, with nothing changed; `INVALID_ARGUMENT` when one object appears twice.
 */
export function applyAll(pairs: readonly (readonly [NativeObject, Event])[], cause: (event: Event) => Cause): void {
  const seen = new Set<NativeObject>();
  for (const [object, event] of pairs) {
    if (seen.has(object)) {
      throw new CustodyError("INVALID_ARGUMENT", `Cannot pass ${object.typeName} twice to a call that takes ownership of it`);
    }
    seen.add(object);
    checkEvent(object, event);
  }
  for (const [object, event] of pairs) apply(object, event, cause(event));
}

/** How a keep-alive changes a nurse's slot. */
export type KeepAliveMode = "set" | "add" | "remove";

/**
 * The keep-alive slots of wrappers whose type's destructor only frees: held by the wrapper,
 * so that a cycle of them is collected like any other cycle of JS objects.
 */
const slotsOnWrapper = new WeakMap<NativeObject, Map<string, NativeObject[]>>();

/** Where `nurse` records what it keeps alive, made on first use if `make`. */
function slotsOf(nurse: NativeObject, internals: Internals, make: boolean): Map<string, NativeObject[]> | undefined {
  if (internals.type.destructorFreesOnly !== true) return make ? internals.keepAlives ??= new Map() : internals.keepAlives;
  let slots = slotsOnWrapper.get(nurse);
  if (slots === undefined && make) slotsOnWrapper.set(nurse, slots = new Map());
  return slots;
}

function takeKeepAlive(internals: Internals, patient: NativeObject): void {
  const handle = internalsOf(patient).handle;
  registry.keepAlive(handle);
  (internals.keptHandles ??= []).push(handle);
}

function dropKeepAlive(internals: Internals, patient: NativeObject): void {
  const handle = internalsOf(patient).handle;
  registry.dropKeepAlive(handle);
  const handles = internals.keptHandles!;
  handles.splice(handles.indexOf(handle), 1);
}

/**
 * Makes `nurse` keep `patient` alive, in the keyed `slot` (pybind11's `keep_alive`,
 * Shiboken's reference slots): `"add"` adds it (once), `"set"` replaces whatever the slot
 * held (with null: empties it), `"remove"` takes it out. While kept alive the patient is not garbage collected, and
 * if it is released its native destructor waits until no nurse keeps it. A keep-alive never
 * invalidates the patient; the nurse drops all of its own when it becomes invalid. An object
 * outlives itself anyway: keeping itself alive is keeping nothing (with `"set"`, the slot is
 * emptied), so a struct whose pointer field points into itself stays collectable.
 *
 * @throws {CustodyError} `INVALID_OBJECT` when the nurse or (to add) the patient is invalid.
 */
export function keepAlive(nurse: NativeObject, patient: NativeObject | null, slot = "", mode: KeepAliveMode = "add"): void {
  for (const [role, value] of [["nurse", nurse], ["patient", patient]] as const) {
    if (!(value instanceof NativeObject) && (role === "nurse" || value !== null)) {
      throw new CustodyError("INVALID_ARGUMENT", `Cannot keep alive: the ${role} must be a custody wrapper, not ${value === null ? "null" : typeof value}`);
    }
  }
  use(nurse);
  if (patient === nurse) patient = null;
  const internals = internalsOf(nurse);
  const slots = slotsOf(nurse, internals, true)!;
  const held = slots.get(slot) ?? [];
  if (patient === null) {
    // Setting a slot to nothing empties it; adding or removing nothing changes nothing.
    if (mode !== "set") return;
    for (const previous of held) dropKeepAlive(internals, previous);
    slots.delete(slot);
    return;
  }
  if (mode === "remove") {
    const kept = held.filter((p) => p !== patient);
    if (kept.length !== held.length) dropKeepAlive(internals, patient);
    slots.set(slot, kept);
    return;
  }
  use(patient);
  if (mode === "add" && held.includes(patient)) return;
  takeKeepAlive(internals, patient);
  if (mode === "set") for (const previous of held) dropKeepAlive(internals, previous);
  slots.set(slot, mode === "set" ? [patient] : [...held, patient]);
}

/** What `nurse` keeps alive, by slot. */
export function keptAlive(nurse: NativeObject): ReadonlyMap<string, readonly NativeObject[]> {
  return slotsOf(nurse, internalsOf(nurse), false) ?? new Map();
}

/**
 * Attaches `attachment` to `owner` in `slot`, closing whatever the slot held: it is closed
 * when the owner becomes invalid.
 *
 * @throws {CustodyError} `INVALID_OBJECT` when the owner is invalid (the attachment is closed at once).
 */
export function attach(owner: NativeObject, slot: string, attachment: Attachment): void {
  try {
    use(owner);
  } catch (error) {
    attachment.close();
    throw error;
  }
  const attachments = internalsOf(owner).attachments ??= new Map<string, Attachment>();
  attachments.get(slot)?.close();
  attachments.set(slot, attachment);
}

/**
 * What `owner` has attached in `slot`, while the owner is valid (invalid owners hold none).
 *
 * @example
 * ```ts
 * import { attach, attachment, objectType, own } from "./wrapper.ts";
 * using owner = own(objectType("Example.Attached"), 0x9000);
 * const log = { close: () => console.log("closed") };
 * attach(owner, "log", log);
 * console.log(attachment(owner, "log") === log); // true
 * ```
 */
export function attachment(owner: NativeObject, slot: string): Attachment | undefined {
  return internalsOf(owner).attachments?.get(slot);
}

/** Ends what an object holds once it is invalid: its keep-alives and its attachments. */
function release(internals: Internals): void {
  if (internals.keptHandles === undefined && internals.attachments === undefined) return;
  dropKeepAlives(internals);
  const attachments = internals.attachments;
  internals.attachments = undefined;
  if (attachments !== undefined) for (const attachment of attachments.values()) attachment.close();
}

function dropKeepAlives(internals: Internals): void {
  const handles = internals.keptHandles;
  if (handles === undefined) return;
  internals.keptHandles = undefined;
  internals.keepAlives = undefined;
  // A collected wrapper's slots went with it; a released one's are let go here.
  const nurse = internals.held ?? internals.ref?.deref();
  if (nurse !== undefined) slotsOnWrapper.delete(nurse);
  for (const handle of handles) {
    // The patient's handle is accepted even after it was destroyed: its destructor was waiting for this.
    try {
      registry.dropKeepAlive(handle);
    } catch {
      // Its native object died meanwhile (notified): nothing was waiting.
    }
  }
}

/** The wrapper JS holds for the live registry entry `handle`, if it still has one. */
function heldWrapper(handle: registry.Handle): NativeObject | undefined {
  const internals = internalsAt(handle.slot);
  const object = internals?.held ?? internals?.ref?.deref();
  return object !== undefined && internalsOf(object).handle.generation === handle.generation ? object : undefined;
}

/**
 * A new wrapper for the live registry entry `handle`, whose previous wrapper was collected (a
 * collected child stays registered under its parent), in the state the registry recorded.
 */
function rewrap(type: ObjectType, address: number, native: unknown, handle: registry.Handle, info = registry.info(handle)): NativeObject {
  return track(type, address, native, handle, stateOfOwner.get(info.owner) ?? "borrowed", "rewrap", info.parent ?? undefined);
}

/** What {@linkcode register} found: a new entry, or the entry custody already holds for the object. */
interface Registration {
  readonly object: NativeObject;
  readonly existing: boolean;
}

const noDestructor = runtime.nativePointer(0);

/**
 * Registers the object in one native call, as a new entry in `state` unless custody already
 * holds one for it (`existing`). The object is given by its address as a number (-1 if not
 * known yet) and its runtime pointer (undefined if not made yet).
 */
function enter(type: ObjectType, address: number, native: unknown, state: "owned" | "borrowed"): { readonly handle: registry.Handle; readonly existing: boolean } {
  const owned = state === "owned";
  // Named, not `ownerCodes[state]`: a keyed load that sees several names goes megamorphic.
  const owner = owned ? ownerCodes.owned : ownerCodes.borrowed;
  return native === undefined
    ? registry.registerAddress(address, type.nameId, owned ? type.destructor : 0, owner)
    : registry.registerNative(native, type.nameId, owned ? type.nativeDestructor : noDestructor, owner);
}

/**
 * Registers the object (see {@linkcode enter}): a new wrapper in `state`, or the wrapper of the
 * entry custody already holds for it, made anew if the previous one was collected.
 */
function register(type: ObjectType, address: number, native: unknown, state: "owned" | "borrowed"): Registration {
  const { handle, existing } = enter(type, address, native, state);
  if (!existing) return { object: track(type, address, native, handle, state, state === "owned" ? "own" : "borrow"), existing };
  return { object: heldWrapper(handle) ?? rewrap(type, address, native, handle), existing };
}

// A live entry with no owner code (0, `invalid`'s) was registered outside custody's wrappers,
// by `registry.create` or by native code: JS borrows it.
const stateOfOwner = new Map<number, State>(
  Object.entries(ownerCodes).filter(([state]) => state !== "invalid").map(([state, code]) => [code, state as State]),
);

/**
 * Makes the wrapper of a registry entry. Records and internals get every field at creation,
 * and no field is ever added later: objects of one shape keep the engines' inline caches
 * monomorphic.
 */
function track(type: ObjectType, address: number, native: unknown, handle: registry.Handle, state: State, rule: string, parent?: registry.Handle): NativeObject {
  if (native === undefined && runtime.nativePointerIsAddress) native = address;
  const internals: Internals = {
    type,
    address,
    handle,
    slot: handle.slot,
    expected: usable[state] ? handle.generation : 0,
    state,
    cause: undefined,
    rule,
    parent,
    keepAlives: undefined,
    keptHandles: undefined,
    attachments: undefined,
    native,
    superseded: false,
    ref: undefined,
    held: undefined,
  };
  if (!endOfJobQueued) {
    endOfJobQueued = true;
    queueMicrotask(endOfJob);
  } else if (nurseryLength === nurseryLimit) {
    emptyNursery();
  }
  const entry = internalsBySlot.swap(handle.slot, nurseryLength);
  nursery[nurseryLength++] = internals;
  // The slot's previous wrapper out of the nursery: of this entry if it was collected (its
  // finalizer may still be pending), else of an entry that ended, whose generation is never
  // this one. One in the nursery was not collected: the nursery holds it (and emptyNursery
  // catches it up if a newer wrapper took its slot).
  const previous = typeof entry === "number" ? undefined : entry;
  if (previous !== undefined && previous.handle.generation === handle.generation) {
    previous.superseded = true;
    // What ends with the object (a capsule's JS destructor, callbacks bound to it) now ends
    // with this wrapper: the collected one's finalizer would close it while the object lives on.
    internals.attachments = previous.attachments;
    previous.attachments = undefined;
  }
  const object = construct(internals);
  internals.held = object;
  // Out of a full nursery in this job, not given its finalizer yet, and its entry ended
  // unnoticed: the end of the job will not find it any more. What ends with its object (a
  // capsule's JS destructor, keep-alives) ends now, once this wrapper is whole: a destructor
  // that ran here and made wrappers of its own could empty the nursery this one is in.
  if (previous !== undefined && previous.held !== undefined && previous.handle.generation !== handle.generation) catchUp(previous);
  return object;
}

/**
 * Wraps a new native object that JS owns: its destructor runs on `release()`, `using`, or
 * as a last resort garbage collection.
 *
 * @throws {CustodyError} `ALREADY_OWNED` when custody already holds a wrapper of that object
 * (two owners for one object are refused), `NULL_POINTER` for address 0.
 */
export function own(type: ObjectType, address: number): NativeObject {
  return ownAt(type, checkAddress(address, `Cannot own ${type.name}`), undefined);
}

/**
 * {@linkcode own} for a pointer in the runtime's representation, as a `nativePointer` result
 * returns it: what bindings use, with no conversion on the way.
 */
export function ownNative(type: ObjectType, native: unknown): NativeObject {
  return ownAt(type, -1, native);
}

/**
 * The wrapper of an entry custody has just registered itself for a new object JS owns (the
 * memory API allocates and registers a block in one native call): no registration here.
 */
export function ownRegistered(type: ObjectType, address: number, handle: registry.Handle): NativeObject {
  return track(type, address, undefined, handle, "owned", "own");
}

function ownAt(type: ObjectType, address: number, native: unknown): NativeObject {
  const { handle, existing } = enter(type, address, native, "owned");
  if (!existing) return track(type, address, native, handle, "owned", "own");
  const held = heldWrapper(handle);
  if (held !== undefined) throw alreadyOwned(type, addressOf(held), held.state);
  // The entry's wrapper was collected (its finalizer may not have run yet).
  const info = registry.info(handle);
  const state = stateOfOwner.get(info.owner) ?? "borrowed";
  if (info.destructor !== 0) {
    // The entry still owns the object: that finalizer runs its destructor. Nothing is made
    // here: a new wrapper would supersede the collected one, whose finalizer would then only
    // let go of what it held, a JS destructor included.
    throw alreadyOwned(type, info.pointer, `${state}, its destructor due when the collected wrapper is finalized`);
  }
  // An entry the table keeps through a collection (a child, whose parent destroys it; an
  // object native code owns) still has an owner: the address is not free.
  if (permitted({ state }, "collect")?.to !== "invalid") throw alreadyOwned(type, info.pointer, `${state}, its wrapper collected`);
  // Otherwise it holds nothing any more. Its memory may even be gone and the address reused (a
  // pinned JS buffer moved away), so it dies and the new object gets its own.
  const stale = rewrap(type, address, native, handle, info);
  apply(stale, "nativeDestroyed", { event: "nativeDestroyed", by: "a new owner of the address" }, { rule: "stale entry" });
  return ownAt(type, address, native);
}

function alreadyOwned(type: ObjectType, address: number, holder: string): CustodyError {
  return new CustodyError("ALREADY_OWNED", `Cannot own ${type.name} at 0x${address.toString(16)}: custody already holds it as ${holder}`);
}

/**
 * Wraps a native object that JS uses but does not own. An object custody already holds
 * comes back as the same wrapper.
 *
 * @throws {CustodyError} `NULL_POINTER` for address 0.
 */
export function borrow(type: ObjectType, address: number): NativeObject {
  return register(type, checkAddress(address, `Cannot borrow ${type.name}`), undefined, "borrowed").object;
}

/** {@linkcode borrow} for a pointer in the runtime's representation (see {@linkcode ownNative}). */
export function borrowNative(type: ObjectType, native: unknown): NativeObject {
  return register(type, -1, native, "borrowed").object;
}

/**
 * {@linkcode borrow}, also saying whether this call introduced the wrapper (false when JS
 * already held one for the object): a callback invalidates only what its arguments introduced.
 *
 * @throws {CustodyError} `NULL_POINTER` for address 0.
 */
export function borrowIntroduced(type: ObjectType, address: number): { readonly object: NativeObject; readonly introduced: boolean } {
  const { object, existing } = register(type, checkAddress(address, `Cannot borrow ${type.name}`), undefined, "borrowed");
  return { object, introduced: !existing };
}
