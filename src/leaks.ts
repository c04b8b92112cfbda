/**
 * Leak reports, read from custody's native tables: registry entries still live, tracked
 * blocks still allocated, callbacks still open. Never from finalizers, which may run late,
 * in any order, or not at all.
 *
 * @module
 */
import * as allocator from "./allocator.ts";
import { openCallbacks } from "./bindings/callbacks.ts";
import { runtime } from "./ffi/mod.ts";
import * as registry from "./registry.ts";

/** What is still alive. */
export interface LeakReport {
  /** Native objects still registered: each with its address and type name. */
  readonly objects: readonly { readonly handle: registry.Handle; readonly address: number; readonly type: string | null }[];
  /** Tracked allocations still live (allocated at or after `since`). */
  readonly blocks: readonly allocator.LiveBlock[];
  /** Callbacks still open. */
  readonly callbacks: number;
}

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
  const objects = registry.liveEntries().map((handle) => {
    const info = registry.info(handle);
    return { handle, address: info.pointer, type: allocator.tagName(info.typeName) };
  });
  return { objects, blocks: allocator.liveBlocks(since), callbacks: openCallbacks() };
}

/** Whether a report holds anything. */
export function hasLeaks(report: LeakReport): boolean {
  return report.objects.length > 0 || report.blocks.length > 0 || report.callbacks > 0;
}

/** Renders a report for a person. */
export function formatLeaks(report: LeakReport): string {
  const lines = [
    `custody leak report: ${report.objects.length} objects, ${report.blocks.length} blocks, ${report.callbacks} callbacks still alive`,
    ...report.objects.slice(0, 20).map((o) => `  object ${o.type ?? "(unnamed)"} at 0x${o.address.toString(16)}`),
    ...report.blocks.slice(0, 20).map((b) => `  block of ${b.size} bytes at 0x${b.address.toString(16)}, tag ${b.tag ?? "(none)"}, #${b.sequence}`),
  ];
  return lines.join("\n");
}

/**
 * Prints a leak report when the process exits, if anything is still alive. `strict` also
 * makes the process exit with code 1, so a test suite that leaks fails.
 *
 * @example In a test suite's setup
 * ```ts ignore
 * import { reportLeaksAtExit } from "./leaks.ts";
 * reportLeaksAtExit({ strict: true });
 * ```
 */
export function reportLeaksAtExit(options: { readonly strict?: boolean; readonly since?: number } = {}): void {
  const since = options.since ?? allocator.nextSequence();
  runtime.onExit(() => {
    const report = leaks(since);
    if (!hasLeaks(report)) return;
    console.error(formatLeaks(report));
    if (options.strict) runtime.setExitCode(1);
  });
}
