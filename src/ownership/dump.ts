/**
 * `dump()`: everything custody knows about one wrapper, in one plain object, for debugging.
 * Shiboken's field set (address, type, owner, parent, children) plus what is custody's own:
 * the registry handle and generation, keep-alives, the rule that decided the latest
 * transition, and, for an invalid object, what invalidated it and where.
 *
 * @module
 */
import * as registry from "../registry.ts";
import type { Cause } from "./machine.ts";
import type { State } from "./transitions.ts";
import { addressOf, handleOf, type NativeObject, recordOf } from "./wrapper.ts";

/** What {@linkcode dump} returns. */
export interface Dump {
  readonly type: string;
  readonly address: string;
  readonly state: State;
  /** Who destroys the native object, in words. */
  readonly owner: string;
  readonly handle: registry.Handle;
  /** The slot's generation now: odd while the object lives. */
  readonly generation: number;
  /** The parent's handle, while the object lives and has one. */
  readonly parent: registry.Handle | null;
  readonly children: readonly registry.Handle[];
  readonly keepAlive: number;
  /** The rule that decided the latest transition (`own`, `borrow`, an event, or a hint). */
  readonly rule: string | undefined;
  /** For an invalid object: the event that invalidated it and where it came from. */
  readonly invalidatedBy: Cause | undefined;
}

const owners: Readonly<Record<State, string>> = {
  owned: "JS",
  borrowed: "native code (borrowed)",
  child: "its parent",
  native: "native code (notifies custody)",
  invalid: "nobody: already handled",
};

/**
 * Describes `object` for a person debugging ownership. Never throws, whatever the state.
 *
 * @example
 * ```ts ignore
 * import { dump } from "./dump.ts";
 * console.log(dump(window));
 * // { type: "Window", address: "0x55d0c0", state: "owned", owner: "JS", handle: { slot: 3, generation: 1 }, ... }
 * ```
 */
export function dump(object: NativeObject): Dump {
  const record = recordOf(object);
  const handle = handleOf(object);
  const live = registry.isLive(handle);
  const info = live ? registry.info(handle) : undefined;
  return {
    type: object.typeName,
    address: `0x${addressOf(object).toString(16)}`,
    state: record.state,
    owner: owners[record.state],
    handle,
    generation: registry.generations[handle.slot],
    parent: info?.parent ?? null,
    children: live ? registry.children(handle) : [],
    keepAlive: info?.keepAlive ?? 0,
    rule: record.rule,
    invalidatedBy: record.cause,
  };
}
