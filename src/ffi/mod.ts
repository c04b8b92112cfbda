/**
 * The runtime custody runs on, picked once at load time. This is the only place that
 * asks which runtime is running.
 *
 * @example Which runtime
 * ```ts
 * import { runtime } from "./mod.ts";
 * console.log(runtime.name); // "deno" or "bun"
 * ```
 *
 * @module
 */
import type { Runtime } from "./types.ts";

export type * from "./types.ts";

async function detect(): Promise<Runtime> {
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunRuntime;
  if ("Deno" in globalThis) return (await import("./deno.ts")).denoRuntime;
  throw new Error("custody runs on Deno or Bun; this runtime has neither Deno.dlopen nor bun:ffi");
}

/** The adapter for the running runtime. */
export const runtime: Runtime = await detect();
