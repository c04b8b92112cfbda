/**
 * The capsule registry, from JS: register native objects with a type name and destructor,
 * link them into parent/child trees, keep them alive, destroy them, and learn when native
 * code destroyed them.
 *
 * A {@linkcode Handle} is a slot and a generation. The registry's generation table is
 * mapped into JS once, so {@linkcode isLive} is one array read and one compare. That check
 * is a fast path only: every operation here is validated again natively, under the lock.
 *
 * @module
 */
import { runtime } from "./ffi/mod.ts";
import { checkAddress, checkU32 } from "./address.ts";
import { CustodyError, statusError } from "./errors.ts";
import { parseLayout, readField } from "./layout.ts";
import { native } from "./native/library.ts";
import { outParameters, scratchBuffer, utf8 } from "./native/scratch.ts";
import { check, codeOf } from "./native/status.ts";

/** A registry entry's identity: stale once its object is destroyed, never reused. */
export interface Handle {
  readonly slot: number;
  readonly generation: number;
}

/** Matches any type name in {@linkcode find}. */
export const anyType = 0xFFFF_FFFF;

/** What the registry knows about a live entry. */
export interface EntryInfo {
  readonly pointer: number;
  /** The interned type name id (0 for the null name). */
  readonly typeName: number;
  /** The address of the destructor, or 0 if none runs. */
  readonly destructor: number;
  readonly context: number;
  /** The owner code the binding layer set (see {@linkcode setOwner}). */
  readonly owner: number;
  /** The parent's handle, or null. */
  readonly parent: Handle | null;
  readonly childCount: number;
  readonly keepAlive: number;
}

/** Options of {@linkcode create}. */
export interface CreateOptions {
  /** The type name id from {@linkcode typeName}; default 0, the null name. */
  readonly typeName?: number;
  /** The address of a `void (*)(void *pointer, void *context)` run exactly once on destroy. */
  readonly destructor?: number;
  /** Passed to the destructor. */
  readonly context?: number;
  /** Created as this entry's child: destroyed with it. */
  readonly parent?: Handle;
}

const infoLayout = parseLayout(
  runtime.cString(native.custody_info_layout()),
  ["pointer", "destructor", "context", "type_name", "owner", "child_count", "keep_alive"],
  "Info",
);
// The parent handle sits between owner and child_count: two u32s the layout names "parent".
const parentOffset = infoLayout.fields.owner.offset + 4;

/** The environment variable that sets the registry's capacity, read before its first use. */
export const capacityVariable = "CUSTODY_REGISTRY_CAPACITY";

function reserve(): number {
  const requested = runtime.env(capacityVariable);
  if (requested !== undefined && requested !== "") {
    const slots = Number(requested);
    if (!Number.isInteger(slots) || slots < 1 || slots >= 0xFFFF_FFFF) {
      throw new CustodyError("INVALID_ARGUMENT", `Cannot reserve the registry: ${capacityVariable} must be an integer from 1 to 4294967294`);
    }
    check(native.custody_registry_init(slots), () => `Cannot reserve a registry of ${slots} slots`);
  }
  const slots = native.custody_registry_capacity();
  if (slots === 0) throw new CustodyError("OUT_OF_MEMORY", "Cannot reserve the registry: the address space is exhausted");
  return slots;
}

const capacity = reserve();

/**
 * The registry's generation of every slot, mapped from native memory. Odd means live.
 * Read-only for JS: writing it would corrupt the registry's fast-path answers.
 */
export const generations: Uint32Array = new Uint32Array(runtime.view(native.custody_generations(), (capacity + 1) * 4));

function readHandle(view: DataView, offset: number): Handle | null {
  const slot = view.getUint32(offset, true);
  return slot === 0 ? null : { slot, generation: view.getUint32(offset + 4, true) };
}

function describe(handle: Handle): string {
  return `${handle.slot}:${handle.generation}`;
}

function validHandle(handle: Handle, action: string): void {
  if (typeof handle !== "object" || handle === null) throw new CustodyError("FORGED_HANDLE", `${action}: a handle is an object with a slot and a generation`);
  const { slot, generation } = handle;
  if (!Number.isInteger(slot) || !Number.isInteger(generation) || slot < 0 || generation < 0 || slot > 0xFFFF_FFFF || generation > 0xFFFF_FFFF) {
    throw new CustodyError("FORGED_HANDLE", `${action}: the handle's slot and generation must be 32-bit unsigned integers`);
  }
}

const typeNames = new Map<string, number>();

/**
 * The id of a type name. Names are interned natively and compared by id; `null` is the
 * null name, which matches only itself (not even the empty string).
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for a name that is neither a string nor null.
 *
 * @example
 * ```ts
 * import { typeName } from "./registry.ts";
 * console.log(typeName("Window") === typeName("Window")); // true
 * console.log(typeName(null)); // 0
 * ```
 */
export function typeName(name: string | null): number {
  if (name === null) return 0;
  if (typeof name !== "string") throw new CustodyError("INVALID_ARGUMENT", `Cannot intern a type name: it must be a string or null, not ${typeof name}`);
  let id = typeNames.get(name);
  if (id === undefined) {
    const text = utf8(name);
    const result = native.custody_intern(text.address, text.length);
    check(result, () => `Cannot intern type name ${JSON.stringify(name.slice(0, 40))}`);
    id = result;
    typeNames.set(name, id);
  }
  return id;
}

/**
 * The number of slots the registry has: the most entries that can live at once.
 *
 * @example
 * ```ts
 * import { registryCapacity } from "./registry.ts";
 * console.log(registryCapacity() > 0); // true
 * ```
 */
export function registryCapacity(): number {
  return capacity;
}

/**
 * Whether the handle's entry is live, by one read of the mapped generation table. Never
 * throws.
 *
 * @example
 * ```ts
 * import { create, destroy, isLive } from "./registry.ts";
 * const handle = create(0x1000);
 * console.log(isLive(handle)); // true
 * destroy(handle);
 * console.log(isLive(handle)); // false
 * ```
 */
export function isLive(handle: Handle): boolean {
  return generations[handle.slot] === handle.generation && (handle.generation & 1) === 1;
}

/**
 * Registers a native object.
 *
 * @throws {CustodyError} `NULL_POINTER` for address 0, `STALE_HANDLE`/`FORGED_HANDLE` for a dead or invented parent, `TABLE_FULL`.
 *
 * @example A window with a child widget
 * ```ts
 * import { create, destroy, isLive, typeName } from "./registry.ts";
 * const window = create(0x1000, { typeName: typeName("Window") });
 * const button = create(0x2000, { typeName: typeName("Button"), parent: window });
 * destroy(window);
 * console.log(isLive(button)); // false
 * ```
 */
export function create(pointer: number, options: CreateOptions = {}): Handle {
  const action = "Cannot register the object";
  const parent = options.parent ?? { slot: 0, generation: 0 };
  if (options.parent !== undefined) validHandle(parent, action);
  check(
    native.custody_capsule_create(
      checkAddress(pointer, action),
      checkU32(options.typeName ?? 0, action),
      checkAddress(options.destructor ?? 0, action),
      checkAddress(options.context ?? 0, action),
      parent.slot,
      parent.generation,
      outParameters.address,
    ),
    () => `Cannot register the object at 0x${pointer.toString(16)}`,
  );
  return readHandle(outParameters.view, 0)!;
}

/**
 * Registers a root entry with its owner code in one call, unless a live entry for `pointer`
 * and the type name exists: then returns that one, with `existing` true.
 *
 * @throws {CustodyError} `NULL_POINTER` for address 0, `TABLE_FULL`.
 *
 * @example
 * ```ts
 * import { destroy, register, typeName } from "./registry.ts";
 * const first = register(0x9000, { typeName: typeName("Icon"), owner: 1 });
 * const again = register(0x9000, { typeName: typeName("Icon"), owner: 1 });
 * console.log(first.existing, again.existing, again.handle.slot === first.handle.slot); // false true true
 * destroy(first.handle);
 * ```
 */
export function register(
  pointer: number,
  options: { readonly typeName?: number; readonly destructor?: number; readonly context?: number; readonly owner?: number } = {},
): { readonly handle: Handle; readonly existing: boolean } {
  const action = "Cannot register the object";
  return registerAddress(
    checkAddress(pointer, action),
    checkU32(options.typeName ?? 0, action),
    checkAddress(options.destructor ?? 0, action),
    checkU32(options.owner ?? 0, action),
    checkAddress(options.context ?? 0, action),
  );
}

/**
 * {@linkcode register} for addresses already checked, passed as JS numbers (doubles) with no
 * conversion on the way: what wrappers of objects known by address use. Values are trusted.
 *
 * @example
 * ```ts
 * import { destroy, registerAddress, typeName } from "./registry.ts";
 * const { handle } = registerAddress(0xB000, typeName("Icon"), 0, 1);
 * destroy(handle);
 * ```
 */
export function registerAddress(
  pointer: number,
  typeNameId: number,
  destructor: number,
  owner: number,
  context = 0,
): { readonly handle: Handle; readonly existing: boolean } {
  return registered(native.custody_capsule_register_number(pointer, typeNameId, destructor, context, owner, outPointer), pointer);
}

/** What a register call wrote: the handle, and whether it is an entry that already existed; throws any other failure. */
function registered(status: number, pointer: unknown): { readonly handle: Handle; readonly existing: boolean } {
  const existing = status < 0 && codeOf(status) === "ALREADY_REGISTERED";
  if (status < 0 && !existing) {
    const address = typeof pointer === "number" ? pointer : runtime.addressOfNative(pointer);
    check(status, `Cannot register the object at 0x${address.toString(16)}`);
  }
  return { handle: readHandle(outParameters.view, 0)!, existing };
}

const outPointer = runtime.nativePointer(outParameters.address);
const nullPointer = runtime.nativePointer(0);

/**
 * {@linkcode register} for values already in the runtime's pointer representation
 * (`runtime.nativePointer`, or a `nativePointer` result): no conversion on the way, which
 * on Deno is most of a registration's cost. For custody's wrappers; the values are trusted.
 *
 * @example
 * ```ts
 * import { destroy, registerNative, typeName } from "./registry.ts";
 * import { runtime } from "./ffi/mod.ts";
 * const { handle } = registerNative(runtime.nativePointer(0xA000), typeName("Icon"), runtime.nativePointer(0), 1);
 * destroy(handle);
 * ```
 */
export function registerNative(
  pointer: unknown,
  typeNameId: number,
  destructor: unknown,
  owner: number,
  context: unknown = nullPointer,
): { readonly handle: Handle; readonly existing: boolean } {
  return registered(native.custody_capsule_register(pointer, typeNameId, destructor, context, owner, outPointer), pointer);
}

/**
 * A new block of `size` bytes from the tracked allocator (zeroed if `zero`), registered in the
 * same native call as a root entry named `typeNameId` with owner code `owner`, whose
 * destruction frees the block: the memory API's allocation in one crossing instead of two.
 * Returns undefined, with nothing allocated, when a live entry of an earlier life still names
 * the address the allocator returned (the caller takes the general path, which resolves it).
 * For custody's own callers: the values are trusted (whole sizes, power-of-two alignments,
 * interned ids).
 *
 * @throws {CustodyError} `OUT_OF_MEMORY`, `TABLE_FULL`.
 *
 * @example
 * ```ts
 * import { allocateRegistered, destroy, typeName } from "./registry.ts";
 * const block = allocateRegistered(64, 16, true, 0, typeName("scratch"), 1)!;
 * destroy(block.handle); // frees the block
 * ```
 */
export function allocateRegistered(
  size: number,
  alignment: number,
  zero: boolean,
  tagId: number,
  typeNameId: number,
  owner: number,
): { readonly address: number; readonly handle: Handle } | undefined {
  const address = native.custody_alloc_owned_number(size, alignment, zero ? 1 : 0, tagId, typeNameId, owner, outPointer);
  if (address > 0) return { address, handle: readHandle(outParameters.view, 0)! };
  const code = codeOf(address);
  if (code === "ALREADY_REGISTERED" || code === "ALREADY_OWNED") return undefined;
  throw statusError(code, `Cannot allocate ${size} bytes`);
}

/**
 * The entry's pointer, if `typeName` (an id from {@linkcode typeName}) is exactly its name.
 *
 * @throws {CustodyError} `NAME_MISMATCH`, `STALE_HANDLE`, `FORGED_HANDLE`.
 *
 * @example
 * ```ts
 * import { create, destroy, pointerOf, typeName } from "./registry.ts";
 * const handle = create(0x3000, { typeName: typeName("Texture") });
 * console.log(pointerOf(handle, typeName("Texture")) === 0x3000); // true
 * destroy(handle);
 * ```
 */
export function pointerOf(handle: Handle, typeNameId: number): number {
  validHandle(handle, "Cannot get the pointer");
  check(
    native.custody_capsule_pointer(handle.slot, handle.generation, checkU32(typeNameId, "Cannot get the pointer"), outParameters.address),
    () => `Cannot get the pointer of capsule ${describe(handle)}`,
  );
  return readField(outParameters.view, 0, { offset: 0, size: 8 });
}

/**
 * What the registry knows about a live entry.
 *
 * @example
 * ```ts
 * import { create, destroy, info } from "./registry.ts";
 * const parent = create(0x10);
 * const child = create(0x20, { parent });
 * console.log(info(parent).childCount, info(child).parent); // 1 { slot, generation }
 * destroy(parent);
 * ```
 */
export function info(handle: Handle): EntryInfo {
  validHandle(handle, "Cannot describe the capsule");
  const view = outParameters.view;
  check(native.custody_capsule_info(handle.slot, handle.generation, outParameters.address), () => `Cannot describe capsule ${describe(handle)}`);
  const f = infoLayout.fields;
  return {
    pointer: readField(view, 0, f.pointer),
    typeName: readField(view, 0, f.type_name),
    destructor: readField(view, 0, f.destructor),
    context: readField(view, 0, f.context),
    owner: readField(view, 0, f.owner),
    parent: readHandle(view, parentOffset),
    childCount: readField(view, 0, f.child_count),
    keepAlive: readField(view, 0, f.keep_alive),
  };
}

/**
 * The handles of the entry's direct children, newest first.
 *
 * @example
 * ```ts
 * import { children, create, destroy } from "./registry.ts";
 * const parent = create(0x10);
 * create(0x20, { parent });
 * console.log(children(parent).length); // 1
 * destroy(parent);
 * ```
 */
export function children(handle: Handle): Handle[] {
  validHandle(handle, "Cannot list children");
  let room = 16;
  while (true) {
    const buffer = scratchBuffer(room * 8);
    const count = native.custody_capsule_children(handle.slot, handle.generation, buffer.address, room);
    check(count, () => `Cannot list the children of capsule ${describe(handle)}`);
    if (count > room) {
      room = count;
      continue;
    }
    return Array.from({ length: count }, (_, i) => readHandle(buffer.view, i * 8)!);
  }
}

/**
 * The live entry registered for `pointer` with type name id `typeNameId` ({@linkcode anyType}
 * for any), or undefined. Several entries may share an address when their types differ (a
 * struct and its first member).
 *
 * @example
 * ```ts
 * import { create, destroy, find, typeName } from "./registry.ts";
 * const handle = create(0x4000, { typeName: typeName("Font") });
 * console.log(find(0x4000, typeName("Font"))?.slot === handle.slot); // true
 * destroy(handle);
 * ```
 */
export function find(pointer: number, typeNameId: number = anyType): Handle | undefined {
  const action = "Cannot look up an object";
  const status = native.custody_capsule_find(checkAddress(pointer, action), checkU32(typeNameId, action), outParameters.address);
  if (status < 0 && codeOf(status) === "NOT_FOUND") return undefined;
  check(status, () => `Cannot look up 0x${pointer.toString(16)}`);
  return readHandle(outParameters.view, 0)!;
}

/**
 * The handles of every live entry.
 *
 * @example
 * ```ts
 * import { liveEntries } from "./registry.ts";
 * console.log(liveEntries().length);
 * ```
 */
export function liveEntries(): Handle[] {
  let room = Math.max(16, native.custody_capsule_enumerate(0, 0));
  while (true) {
    const buffer = scratchBuffer(room * 8);
    const count = native.custody_capsule_enumerate(buffer.address, room);
    if (count > room) {
      room = count * 2;
      continue;
    }
    return Array.from({ length: count }, (_, i) => readHandle(buffer.view, i * 8)!);
  }
}

/**
 * Records who owns the entry (a code of the binding layer's choosing; custody's ownership
 * state machine uses it so native code and dumps can tell).
 *
 * @example
 * ```ts
 * import { create, destroy, info, setOwner } from "./registry.ts";
 * const handle = create(0x10);
 * setOwner(handle, 2);
 * console.log(info(handle).owner); // 2
 * destroy(handle);
 * ```
 */
export function setOwner(handle: Handle, owner: number): void {
  validHandle(handle, "Cannot set the owner");
  const action = `Cannot set the owner of capsule ${describe(handle)}`;
  check(native.custody_capsule_set_owner(handle.slot, handle.generation, checkU32(owner, action)), action);
}

/**
 * Replaces the destructor (address 0: none) and its context.
 *
 * @example
 * ```ts
 * import { create, destroy, setDestructor } from "./registry.ts";
 * const handle = create(0x10);
 * setDestructor(handle, 0);
 * destroy(handle);
 * ```
 */
export function setDestructor(handle: Handle, destructor: number, context = 0): void {
  validHandle(handle, "Cannot set the destructor");
  const action = `Cannot set the destructor of capsule ${describe(handle)}`;
  check(
    native.custody_capsule_set_destructor(handle.slot, handle.generation, checkAddress(destructor, action), checkAddress(context, action)),
    action,
  );
}

/**
 * Makes the entry a view (`true`) or no longer one: a view's destructor runs only when the
 * view itself is destroyed, never when it goes down with an ancestor, whose end may already
 * have freed the memory the view points into.
 *
 * @example
 * ```ts
 * import { create, destroy, setView } from "./registry.ts";
 * const block = create(0x20);
 * const view = create(0x28, { parent: block });
 * setView(view, true);
 * destroy(block); // the view goes too, its destructor (had it one) not run
 * ```
 */
export function setView(handle: Handle, view: boolean): void {
  validHandle(handle, "Cannot make a view");
  if (typeof view !== "boolean") throw new CustodyError("INVALID_ARGUMENT", `Cannot make capsule ${describe(handle)} a view: view is true or false, not ${typeof view}`);
  check(native.custody_capsule_set_view(handle.slot, handle.generation, view ? 1 : 0), () => `Cannot make capsule ${describe(handle)} ${view ? "a view" : "no longer a view"}`);
}

/**
 * Makes `child` a child of `parent`, moving it from any parent it had; `null` detaches it.
 * Setting the parent it already has changes nothing.
 *
 * @throws {CustodyError} `CYCLE` when `parent` is `child` or one of its descendants.
 *
 * @example
 * ```ts
 * import { create, destroy, setParent } from "./registry.ts";
 * const a = create(0x10);
 * const b = create(0x20);
 * setParent(b, a);
 * setParent(b, null);
 * destroy(a);
 * destroy(b);
 * ```
 */
export function setParent(child: Handle, parent: Handle | null): void {
  validHandle(child, "Cannot set the parent");
  if (parent !== null) validHandle(parent, "Cannot set the parent");
  check(
    native.custody_capsule_set_parent(child.slot, child.generation, parent?.slot ?? 0, parent?.generation ?? 0),
    () => `Cannot make capsule ${describe(child)} ${parent === null ? "a root" : `a child of ${describe(parent)}`}`,
  );
}

/**
 * Adds a keep-alive: while any is held, destroying the entry invalidates it at once but
 * runs its destructor only when the last keep-alive is dropped.
 *
 * @example
 * ```ts
 * import { create, destroy, dropKeepAlive, keepAlive } from "./registry.ts";
 * const source = create(0x10);
 * keepAlive(source);
 * destroy(source); // invalid now; the destructor waits
 * dropKeepAlive(source); // the destructor runs now
 * ```
 */
export function keepAlive(handle: Handle): void {
  validHandle(handle, "Cannot keep alive");
  check(native.custody_capsule_keep_alive(handle.slot, handle.generation), () => `Cannot keep capsule ${describe(handle)} alive`);
}

/**
 * Drops a keep-alive taken with this handle, even after the entry was destroyed.
 *
 * @throws {CustodyError} `NOT_KEPT_ALIVE` when none is held.
 *
 * @example
 * ```ts
 * import { create, destroy, dropKeepAlive, keepAlive } from "./registry.ts";
 * const handle = create(0x10);
 * keepAlive(handle);
 * dropKeepAlive(handle);
 * destroy(handle);
 * ```
 */
export function dropKeepAlive(handle: Handle): void {
  validHandle(handle, "Cannot drop a keep-alive");
  check(native.custody_capsule_drop_keep_alive(handle.slot, handle.generation), () => `Cannot drop a keep-alive of capsule ${describe(handle)}`);
}

/**
 * Destroys the entry and its descendants: all are invalid at once, then the destructors
 * run, children before parents, each exactly once.
 *
 * @throws {CustodyError} `STALE_HANDLE` when it was already destroyed.
 *
 * @example
 * ```ts
 * import { create, destroy } from "./registry.ts";
 * destroy(create(0x10));
 * ```
 */
export function destroy(handle: Handle): void {
  validHandle(handle, "Cannot destroy");
  const status = native.custody_capsule_destroy(handle.slot, handle.generation);
  if (status < 0) check(status, `Cannot destroy capsule ${describe(handle)}`);
}

/**
 * Tells the registry that native code destroyed the object: the entry and its descendants
 * become invalid; the descendants' destructors run, the entry's does not.
 *
 * @example
 * ```ts
 * import { create, isLive, notifyDestroyed } from "./registry.ts";
 * const handle = create(0x10);
 * notifyDestroyed(handle);
 * console.log(isLive(handle)); // false
 * ```
 */
export function notifyDestroyed(handle: Handle): void {
  validHandle(handle, "Cannot notify");
  check(native.custody_notify_destroyed(handle.slot, handle.generation), () => `Cannot notify the destruction of capsule ${describe(handle)}`);
}

/**
 * {@linkcode notifyDestroyed} for every entry at `pointer`; returns how many there were.
 *
 * @example
 * ```ts
 * import { create, notifyDestroyedAt } from "./registry.ts";
 * create(0x5000);
 * console.log(notifyDestroyedAt(0x5000)); // 1
 * ```
 */
export function notifyDestroyedAt(pointer: number): number {
  const count = native.custody_notify_destroyed_address(checkAddress(pointer, "Cannot notify a destruction"));
  check(count, () => `Cannot notify the destruction of 0x${pointer.toString(16)}`);
  return count;
}
