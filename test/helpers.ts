/**
 * What several test files need: asserting a CustodyError by code, forcing garbage collection
 * until something happened, running a module in a fresh process of the current runtime.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { CustodyError, runtime } from "../mod.ts";

/** Asserts that `action` throws a CustodyError with `code` (and a message matching `message`). */
export function throwsCode(action: () => unknown, code: string, message?: RegExp): void {
  assert.throws(action, (e: unknown) => e instanceof CustodyError && e.code === code && (message === undefined || message.test(e.message)));
}

/**
 * Forces collections, a turn of the event loop after each, until `done()` or 100 attempts:
 * Bun's collector scans the stack conservatively, and late in a full run a chain of two
 * objects (a capsule, then the memory it held) took 28 of them.
 */
export async function collectUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) {
    runtime.collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Runs `source` as a module in a fresh process of the current runtime, with extra environment. */
export function runModule(source: string, env: Record<string, string> = {}): { status: number | null; output: string } {
  const args = runtime.name === "deno" ? ["run", "--allow-ffi", "--allow-read", "--allow-env", "-"] : ["run", "-"];
  const run = spawnSync(process.execPath, args, { input: source, env: { ...process.env, ...env }, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
