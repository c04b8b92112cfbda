/**
 * The two runtimes' own FFI, for the raw sides of the benchmarks: Deno's namespace when Deno
 * runs, and `bun:ffi`'s `dlopen` when Bun does. Unlike custody's sources, the bench files
 * that import this ask which runtime runs.
 *
 * @module
 */

/** Deno's namespace when Deno runs; `undefined` under Bun. */
export const deno: typeof Deno | undefined = "Bun" in globalThis
  ? undefined
  : (globalThis as { Deno?: typeof Deno }).Deno;

/** A `bun:ffi` symbol declaration. */
export interface BunSymbol {
  args: string[];
  returns: string;
}

/** Opens `path` with `bun:ffi` and returns its symbols, untyped (Bun runs). */
export async function bunDlopen<Name extends string>(
  path: string,
  symbols: Record<Name, BunSymbol>,
): Promise<Record<Name, (...args: unknown[]) => unknown>> {
  // A variable specifier, so Deno's type check does not try to resolve Bun's module.
  const specifier = "bun:ffi";
  const ffi = await import(specifier) as {
    dlopen(path: string, symbols: Record<string, BunSymbol>): { symbols: Record<Name, (...args: unknown[]) => unknown> };
  };
  return ffi.dlopen(path, symbols).symbols;
}
