/**
 * Prints a benchmark's result as JSON and writes it to the path given as the first argument
 * (Deno's `Deno.args`, Bun's `process.argv`), where `scripts/bench.sh` collects it.
 *
 * @module
 */
import { writeFileSync } from "node:fs";

export function writeResult(result: object): void {
  console.log(JSON.stringify(result));
  const outPath = (globalThis as { Deno?: { args: string[] } }).Deno?.args[0] ?? process.argv[2];
  if (outPath) writeFileSync(outPath, JSON.stringify(result, null, 2));
}
