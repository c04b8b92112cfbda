/**
 * Opens libcustody once per process (per worker) and hands out its symbols.
 *
 * The library is looked up at `CUSTODY_LIB` if that environment variable is set, else next
 * to this module at `zig/zig-out/lib/`, where `make build` puts it.
 *
 * @module
 */
import { runtime } from "../ffi/mod.ts";
import { custodySymbols } from "./symbols.ts";

/** The environment variable that overrides where libcustody is loaded from. */
export const libraryPathVariable = "CUSTODY_LIB";

/** Where libcustody is loaded from. */
export function libraryPath(): string {
  const override = runtime.env(libraryPathVariable);
  if (override !== undefined && override !== "") return override;
  const file = runtime.sharedLibraryName("custody");
  return runtime.pathOf(new URL(`../../zig/zig-out/lib/${file}`, import.meta.url));
}

function open() {
  const path = libraryPath();
  try {
    return runtime.open(path, custodySymbols);
  } catch (cause) {
    throw new Error(
      `Cannot load libcustody from ${path}: run \`make build\` or set ${libraryPathVariable} to the library's path`,
      { cause },
    );
  }
}

/** The libcustody functions, bound for the running runtime. */
export const native = open().symbols;
