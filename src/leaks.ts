/**
 * Leak reports, read from custody's native tables: registry entries still live, tracked
 * blocks still allocated, callbacks still open. Never from finalizers, which may run late,
 * in any order, or not at all. Each native object is one row, keyed by its registry entry,
 * however many JS references (a wrapper, an exception holding it, a closure) keep it.
 *
 * @module
 */
import * as allocator from "./allocator.ts";
import { describeOpenCallbacks, openCallbacks } from "./bindings/callbacks.ts";
import { runtime } from "./ffi/mod.ts";
import * as registry from "./registry.ts";
import { ownerCodes } from "./ownership/wrapper.ts";
import type { State } from "./ownership/transitions.ts";

/** A native object still registered. */
export interface LeakedObject {
  readonly handle: registry.Handle;
  readonly address: number;
  readonly type: string | null;
  /** Who was to destroy it, from its registry entry (`unknown` for entries made outside wrappers). */
  readonly owner: State | "unknown";
  /** Keep-alives held on it: a cycle of keep-alives keeps every object in it listed here. */
  readonly keptAlive: number;
}

/** What is still alive. */
export interface LeakReport {
  /** Native objects still registered. */
  readonly objects: readonly LeakedObject[];
  /** Tracked allocations still live (allocated at or after `since`). */
  readonly blocks: readonly allocator.LiveBlock[];
  /** Callbacks still open. */
  readonly callbacks: number;
  /** What each open callback is (its function, where it was passed, what it is bound to). */
  readonly callbackDetails?: readonly string[];
}

const ownerStates = new Map<number, State>(Object.entries(ownerCodes).map(([state, code]) => [code, state as State]));

/**
 * Everything still alive: registered objects, live tracked blocks allocated at or after
 * sequence `since` (default: all), open callbacks.
 *
 * @example Checking that a piece of work left nothing behind
 * ```ts
 * import { allocator } from "../mod.ts";
 * import { leaks } from "./leaks.ts";
 * const start = allocator.nextSequence();
 * // ... work ...
 * console.log(leaks(start).blocks.length); // 0
 * ```
 */
export function leaks(since = 0): LeakReport {
  const objects = registry.liveEntries().map((handle): LeakedObject => {
    const info = registry.info(handle);
    const owner = ownerStates.get(info.owner);
    return {
      handle,
      address: info.pointer,
      type: allocator.tagName(info.typeName),
      owner: owner === undefined || owner === "invalid" ? "unknown" : owner,
      keptAlive: info.keepAlive,
    };
  });
  return { objects, blocks: allocator.liveBlocks(since), callbacks: openCallbacks(), callbackDetails: describeOpenCallbacks() };
}

/** Whether a report holds anything. */
export function hasLeaks(report: LeakReport): boolean {
  return report.objects.length > 0 || report.blocks.length > 0 || report.callbacks > 0;
}

/** Renders a report for a person. */
export function formatLeaks(report: LeakReport): string {
  const lines = [
    `custody leak report: ${report.objects.length} objects, ${report.blocks.length} blocks, ${report.callbacks} callbacks still alive`,
    ...report.objects.slice(0, 20).map((o) => {
      const kept = (o.keptAlive ?? 0) > 0 ? `, kept alive ${o.keptAlive} time${o.keptAlive === 1 ? "" : "s"} (a keep-alive cycle keeps itself)` : "";
      return `  object ${o.type ?? "(unnamed)"} at 0x${o.address.toString(16)}${o.owner === undefined ? "" : ` (${o.owner})`}${kept}`;
    }),
    ...(report.callbackDetails ?? []).slice(0, 20).map((c) => `  ${c}`),
    ...report.blocks.slice(0, 20).map((b) => `  block of ${b.size} bytes at 0x${b.address.toString(16)}, tag ${b.tag ?? "(none)"}, #${b.sequence}`),
  ];
  return lines.join("\n");
}

/** Options of {@linkcode reportLeaksAtExit}. */
export interface ExitOptions {
  /** Exit with code 1 when anything leaked, so a test suite that leaks fails. */
  readonly strict?: boolean;
  /** Report only tracked blocks allocated at or after this sequence (default: from now on). */
  readonly since?: number;
  /**
   * `"destroy"`: after taking the report, destroy the native objects JS still owns, each
   * tree children first (the registry's order), so their native resources are released
   * while the runtime still runs. Default `"keep"`: no native destruction at exit.
   */
  readonly owned?: "destroy" | "keep";
}

/**
 * Prints a leak report when the process exits, if anything is still alive; optionally
 * destroys what JS still owns first (see {@linkcode ExitOptions}).
 *
 * @example In a test suite's setup
 * ```ts ignore
 * import { reportLeaksAtExit } from "./leaks.ts";
 * reportLeaksAtExit({ strict: true, owned: "destroy" });
 * ```
 */
export function reportLeaksAtExit(options: ExitOptions = {}): void {
  const since = options.since ?? allocator.nextSequence();
  runtime.onExit(() => {
    const report = leaks(since);
    const destroyed = options.owned === "destroy" ? destroyOwned() : 0;
    if (!hasLeaks(report)) return;
    console.error(formatLeaks(report));
    if (destroyed > 0) console.error(`  ${destroyed} objects JS still owned were destroyed at exit, children first`);
    if (options.strict) runtime.setExitCode(1);
  });
}

/** Destroys every live entry JS owns (roots: children go with them); returns how many. */
function destroyOwned(): number {
  let destroyed = 0;
  for (const handle of registry.liveEntries()) {
    // A tree destroyed earlier in this loop took its descendants with it.
    if (!registry.isLive(handle) || registry.info(handle).owner !== ownerCodes.owned) continue;
    registry.destroy(handle);
    destroyed++;
  }
  return destroyed;
}
