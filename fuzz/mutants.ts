/**
 * `make mutants`: the proof that the fuzz campaign catches real ownership bugs. Each named
 * mutation of fuzz/mutations.ts is planted in a temporary copy of the project (a native one
 * rebuilds libcustody.so there, used through CUSTODY_LIB), and the campaign runs against it
 * on each runtime until its first failure or the time budget. Prints a table (mutation,
 * runtime, caught?, seconds to catch, what caught it) and writes it to OUT/mutants.json.
 * Exits non-zero when a mutation survives or is stale.
 *
 *   deno run -A fuzz/mutants.ts --deno=DENO --bun=BUN --zig=ZIG [--time=60] [--runtime=both]
 *     [--only=name,name] [--out=.mutants] [--seed=N] [--control=SECONDS]
 *
 * First the unmutated copy runs for --control seconds (10) per runtime: if it fails, a catch
 * would prove nothing, and nothing else runs.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { cliArgs } from "./cli.ts";
import { isNative, type Mutation, mutations } from "./mutations.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = cliArgs();
const budget = Number(args.time ?? 60);
const runtimes = (args.runtime ?? "both") === "both" ? ["deno", "bun"] : [args.runtime];
const only = args.only === undefined ? undefined : new Set(args.only.split(","));
const out = resolve(root, args.out ?? ".mutants");
const tools: Record<string, string> = { deno: args.deno ?? "node_modules/.bin/deno", bun: args.bun ?? "node_modules/.bin/bun", zig: args.zig ?? ".tools/zig/ziglang/zig" };
for (const [tool, path] of Object.entries(tools)) tools[tool] = resolve(root, path);

/** One line of the table. */
interface Result {
  readonly mutation: string;
  readonly bug: string;
  readonly file: string;
  readonly runtime: string;
  /** `caught`, `survived`, `stale` (the snippet is not in the file exactly once) or `broken` (the mutant does not build). */
  readonly outcome: "caught" | "survived" | "stale" | "broken";
  /** Seconds from the campaign's start to the first failure. */
  readonly seconds: number | null;
  /** The oracle and code of the first failure (`oracle:command:code`). */
  readonly caughtBy: string | null;
  readonly message: string | null;
}

/** What a mutant copy needs: sources, fuzz model, examples, native sources, configuration. */
const copied = ["src", "fuzz", "examples", "zig", "mod.ts", "package.json", "deno.json", "tsconfig.json", "bunfig.toml"];

function occurrences(text: string, snippet: string): number {
  let count = 0;
  for (let at = text.indexOf(snippet); at >= 0; at = text.indexOf(snippet, at + 1)) count++;
  return count;
}

/** Copies the project to a temporary folder and plants `mutation` (none: the control); returns the folder. */
function plant(mutation: Mutation | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), `custody-mutant-${mutation?.name ?? "control"}-`));
  for (const entry of copied) {
    cpSync(join(root, entry), join(dir, entry), {
      recursive: true,
      filter: (source) => !/[/\\](zig-out|\.zig-cache|regression)([/\\]|$)/.test(source.slice(root.length)),
    });
  }
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  if (mutation === undefined) return dir;
  const file = join(dir, mutation.file);
  writeFileSync(file, readFileSync(file, "utf8").replace(mutation.find, mutation.replace));
  return dir;
}

/** Runs the campaign in `dir` on `runtime`; returns the first failure, if any. */
function campaign(dir: string, runtime: string, library: string, budget: number): { seconds: number; signature: string; message: string } | undefined {
  const outDir = join(dir, `.fuzz-${runtime}`);
  const script = join(dir, "fuzz/campaign.ts");
  const flags = [`--time=${budget}`, `--out=${outDir}`, "--stop=first", ...(args.seed === undefined ? [] : [`--seed=${args.seed}`])];
  const argv = runtime === "deno" ? ["run", "--allow-all", "--v8-flags=--expose-gc", script, ...flags] : [script, ...flags];
  const run = spawnSync(tools[runtime], argv, {
    cwd: dir,
    env: { ...process.env, CUSTODY_LIB: library },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: (budget + 120) * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const statsFile = join(outDir, "stats.json");
  const stats = existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, "utf8"))[runtime] : undefined;
  const first = stats?.first_failure as { seconds: number; signature: string } | null | undefined;
  if (first) {
    const failure = /^FAILURE [^:]+:[^:]+:[^:]+: (.*)$/m.exec(run.stdout ?? "");
    return { seconds: first.seconds, signature: first.signature, message: failure?.[1] ?? "" };
  }
  // No stats at all: the campaign itself died (a crash is a catch too, the worst kind).
  if (stats === undefined) return { seconds: budget, signature: `crash:campaign:${run.status ?? run.signal}`, message: (run.stderr ?? "").slice(-400) };
  return undefined;
}

function build(dir: string): string | undefined {
  const made = spawnSync(tools.zig, ["build"], { cwd: join(dir, "zig"), encoding: "utf8" });
  return made.status === 0 ? undefined : (made.stderr ?? "").slice(-800);
}

function main(): number {
  mkdirSync(out, { recursive: true });
  const chosen = mutations.filter((m) => only === undefined || only.has(m.name));
  const results: Result[] = [];
  const library = join(root, "zig/zig-out/lib/libcustody.so");
  const control = Number(args.control ?? 10);
  if (control > 0) {
    const dir = plant(undefined);
    try {
      for (const runtime of runtimes) {
        process.stderr.write(`[control] ${runtime}: the unmutated copy for ${control} s\n`);
        const failed = campaign(dir, runtime, library, control);
        if (failed !== undefined) {
          console.error(`CONTROL FAILED on ${runtime}: the unmutated copy fails (${failed.signature}: ${failed.message}); fix that first`);
          return 2;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const mutation of chosen) {
    const base = { mutation: mutation.name, bug: mutation.bug, file: mutation.file };
    const count = occurrences(readFileSync(join(root, mutation.file), "utf8"), mutation.find);
    if (count !== 1) {
      for (const runtime of runtimes) results.push({ ...base, runtime, outcome: "stale", seconds: null, caughtBy: null, message: `the snippet occurs ${count} times in ${mutation.file}` });
      console.error(`STALE ${mutation.name}: its snippet occurs ${count} times in ${mutation.file} (exactly once is needed): update fuzz/mutations.ts`);
      continue;
    }
    const dir = plant(mutation);
    try {
      let mutantLibrary = library;
      if (isNative(mutation)) {
        process.stderr.write(`[${mutation.name}] building the mutant libcustody.so\n`);
        const error = build(dir);
        if (error !== undefined) {
          for (const runtime of runtimes) results.push({ ...base, runtime, outcome: "broken", seconds: null, caughtBy: null, message: error });
          console.error(`BROKEN ${mutation.name}: the mutant does not build\n${error}`);
          continue;
        }
        mutantLibrary = join(dir, "zig/zig-out/lib/libcustody.so");
      }
      for (const runtime of runtimes) {
        process.stderr.write(`[${mutation.name}] ${runtime}: campaign of up to ${budget} s\n`);
        const caught = campaign(dir, runtime, mutantLibrary, budget);
        results.push({
          ...base,
          runtime,
          outcome: caught === undefined ? "survived" : "caught",
          seconds: caught === undefined ? null : Math.round(caught.seconds * 10) / 10,
          caughtBy: caught?.signature ?? null,
          message: caught?.message ?? null,
        });
        const last = results[results.length - 1];
        process.stderr.write(`[${mutation.name}] ${runtime}: ${last.outcome}${last.seconds === null ? "" : ` after ${last.seconds} s by ${last.caughtBy}`}\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  writeFileSync(join(out, "mutants.json"), JSON.stringify({ budget_seconds: budget, date: new Date().toISOString(), runtimes, results }, null, 2) + "\n");
  printTable(results);
  const bad = results.filter((r) => r.outcome !== "caught");
  const caughtMutations = chosen.filter((m) => results.every((r) => r.mutation !== m.name || r.outcome === "caught"));
  console.log(`\n${caughtMutations.length} of ${chosen.length} mutations caught on every runtime asked (${runtimes.join(", ")}), within ${budget} s each; ${bad.length} results not caught; table in ${join(out, "mutants.json")}`);
  for (const r of bad) console.log(`${r.outcome.toUpperCase()} ${r.mutation} (${r.runtime}): ${r.message ?? r.bug}`);
  return bad.length === 0 ? 0 : 1;
}

function printTable(results: readonly Result[]): void {
  const rows = [["mutation", "runtime", "caught?", "seconds", "caught by (oracle:command:code)"]];
  for (const r of results) rows.push([r.mutation, r.runtime, r.outcome === "caught" ? "yes" : r.outcome.toUpperCase(), r.seconds === null ? "-" : r.seconds.toFixed(1), r.caughtBy ?? "-"]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  console.log("\n== mutants");
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
}

process.exit(main());
