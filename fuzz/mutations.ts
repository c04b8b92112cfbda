/**
 * The named ownership bugs `make mutants` plants, one at a time, to show that the campaign
 * catches each. A mutation replaces one snippet of one file; the snippet must occur exactly
 * once, else the mutation is stale (the code moved on) and `make mutants` fails until the
 * snippet is updated. Snippets are short, so that unrelated edits around them leave them valid.
 *
 * Mutations of the transition table change the model too (it predicts from the same table):
 * those are caught only by the oracles that do not depend on the table (allocator violations,
 * dead-object calls, live objects and registry entries, leaks), which is the point of them.
 *
 * @module
 */

/** One planted bug. */
export interface Mutation {
  /** A stable name, for the table and `--only=`. */
  readonly name: string;
  /** The bug, in words. */
  readonly bug: string;
  /** The file, relative to the project root. */
  readonly file: string;
  /** The snippet replaced: it must occur exactly once in `file`. */
  readonly find: string;
  readonly replace: string;
}

/** Whether a mutation needs the native library rebuilt. */
export function isNative(mutation: Mutation): boolean {
  return mutation.file.endsWith(".zig");
}

/** Every mutation `make mutants` runs. */
export const mutations: readonly Mutation[] = [
  {
    name: "steal-check-skipped",
    bug: "a call that steals or invalidates an argument skips the ownership check before native code runs",
    file: "src/bindings/bind.ts",
    find: "        checkEvent(object, event);",
    replace: "",
  },
  {
    name: "no-cascade-on-parent-destroy",
    bug: "destroying a registry entry leaves its children's entries alive",
    file: "zig/src/registry.zig",
    find: "try self.collectPostOrder(root);",
    replace: "try self.walk.append(self.gpa, root);",
  },
  {
    name: "identity-map-off",
    bug: "an object custody already wraps comes back as a new wrapper",
    file: "src/ownership/wrapper.ts",
    find: "internals?.held ?? internals?.ref?.deref()",
    replace: "undefined as NativeObject | undefined",
  },
  {
    name: "dispose-not-idempotent",
    bug: "disposing an object a second time destroys it again",
    file: "src/ownership/machine.ts",
    find: "  if (isAllowed(outcome)) return outcome;",
    replace: "  if (event === \"dispose\" && record.state === \"invalid\") return transitions.owned.dispose;\n  if (isAllowed(outcome)) return outcome;",
  },
  {
    name: "generation-not-checked",
    bug: "a bound call passes a wrapper without comparing its generation with the registry's",
    file: "src/ownership/wrapper.ts",
    find: "generations[internals.slot] !== internals.expected",
    replace: "internals.expected === 0",
  },
  {
    name: "native-generation-not-checked",
    bug: "the registry accepts a stale handle whose slot now holds another object",
    file: "zig/src/registry.zig",
    find: "if (handle.generation == current and current & 1 == 1) return",
    replace: "if (current & 1 == 1) return",
  },
  {
    name: "keep-alive-dropped",
    bug: "a destroyed entry's destructor runs at once even while something keeps it alive",
    file: "zig/src/registry.zig",
    find: "if (e.holds.keep_alive > 0) {",
    replace: "if (false) {",
  },
  {
    name: "kept-alive-given-away",
    bug: "an object a keep-alive holds can be stolen, and come back under an entry that forgot the keep-alive",
    file: "src/ownership/wrapper.ts",
    find: "if (!refusedWhileKeptAlive.has(event) || registry.info(internals.handle).keepAlive === 0) return;",
    replace: "if (refusedWhileKeptAlive.size >= 0) return;",
  },
  {
    name: "deferred-destructor-lost",
    bug: "dropping the last keep-alive of a destroyed entry never runs its deferred destructor",
    file: "zig/src/registry.zig",
    find: "const due: ?DueDestructor = if (e.destructor) |d| .{ .destructor = d, .pointer = e.pointer, .context = e.context } else null;",
    replace: "const due: ?DueDestructor = null;",
  },
  {
    name: "notified-destroy-runs-destructor",
    bug: "an object native code destroyed (and told custody) is destroyed again by the registry",
    file: "zig/src/registry.zig",
    find: "try self.destroyTree(handle, false, null);",
    replace: "try self.destroyTree(handle, true, null);",
  },
  {
    name: "callback-argument-not-invalidated",
    bug: "a callback's object argument stays valid after the callback returns",
    file: "src/bindings/callbacks.ts",
    find: "if (retained.has(object) || outcome === undefined || outcome.to === record.state) continue;",
    replace: "continue;",
  },
  {
    name: "callback-never-closed",
    bug: "closeCallback() leaves the callbacks made from the function open",
    file: "src/bindings/callbacks.ts",
    find: "for (const callback of made) callback.close();",
    replace: "",
  },
  {
    name: "double-release-allowed",
    bug: "a released object's record stays owned, so it can be released again",
    file: "src/ownership/machine.ts",
    find: "  record.state = allowed.to;",
    replace: "  record.state = event === \"release\" ? record.state : allowed.to;",
  },
  {
    name: "invalidation-cause-lost",
    bug: "an invalidated record forgets why, so a second release reports the wrong error",
    file: "src/ownership/machine.ts",
    find: "if (allowed.to === \"invalid\" && record.state !== \"invalid\") record.cause = cause;",
    replace: "",
  },
  {
    name: "collected-child-destroyed",
    bug: "the table lets the garbage collector destroy a child its parent owns",
    file: "src/ownership/transitions.ts",
    find: "collect: stay(\"child\"),",
    replace: "collect: go(\"invalid\", \"destroy\"),",
  },
  {
    name: "rollback-missing",
    bug: "alloc() with an initialiser it refuses leaves the new block allocated",
    file: "src/memory/alloc.ts",
    find: "      pointer.release();\n      throw error;",
    replace: "      throw error;",
  },
  {
    name: "derived-pointer-outlives-owner",
    bug: "a pointer derived from memory is not checked against its owner, so it reads freed memory",
    file: "src/memory/pointer.ts",
    find: "if (block.owner !== null) use(block.owner);",
    replace: "",
  },
  {
    name: "consume-not-once",
    bug: "consuming a capsule leaves it valid, so it can be consumed twice",
    file: "src/capsule.ts",
    find: "    apply(this.#object, \"consume\", {",
    replace: "    void ({",
  },
  {
    name: "view-destructor-on-cascade",
    bug: "a capsule over memory runs its destructor when the memory's end takes it along, handed memory that is gone",
    file: "zig/src/registry.zig",
    find: "else !e.holds.view;",
    replace: "else true;",
  },
  {
    name: "view-destructor-never",
    bug: "a capsule over memory never runs its destructor, even when it ends first (released, collected, destroyed natively)",
    file: "zig/src/registry.zig",
    find: "if (slot == root) run_root_destructor else",
    replace: "if (slot == root) run_root_destructor and !e.holds.view else",
  },
];
