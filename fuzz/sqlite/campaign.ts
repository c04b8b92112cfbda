/**
 * The SQLite fuzz campaign CLI: replays the saved corpus, then runs the SQLite property
 * (fuzz/sqlite/run.ts) for a time budget or a number of runs, prints a progress line, and
 * writes OUT/stats.json (under this runtime's name) and OUT/corpus/*.json in the format of
 * the widgets campaign (fuzz/campaign.ts). Exits non-zero on any failure.
 *
 *   deno run -A --v8-flags=--expose-gc fuzz/sqlite/campaign.ts --time=60 --out=.fuzz-sqlite
 *   bun fuzz/sqlite/campaign.ts --time=60
 *
 * Options: --time=SECONDS --runs=N --seed=N --out=DIR
 *
 * @module
 */
import fc from "fast-check";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { runtime } from "../../src/ffi/mod.ts";
import { stats } from "../../src/stats.ts";
import { liveBlocks } from "../../src/allocator.ts";
import type { CorpusEntry } from "../campaign.ts";
import { FuzzFailure } from "../command.ts";
import { type SqliteCommand, sqliteCommandCounts } from "./commands.ts";
import { sqliteMaxCommands, sqliteProperty } from "./run.ts";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]));
const time = Number(args.time ?? 60), runsLimit = Number(args.runs ?? 0);
const out = args.out ?? ".fuzz-sqlite";
const seed0 = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);

function entryOf(details: fc.RunDetails<[Iterable<SqliteCommand>]>, bound: number): CorpusEntry {
  const error = details.errorInstance;
  const failure = error instanceof FuzzFailure ? error : undefined;
  const command = failure?.command.replace(/\(.*/, "") ?? "unknown";
  const code = failure?.code ?? "THROWN";
  return {
    signature: `sqlite:${failure?.oracle ?? "error"}:${command}:${code}`,
    seed: details.seed,
    path: details.counterexamplePath ?? "",
    counterexample: String(details.counterexample?.[0] ?? ""),
    code,
    runtime: runtime.name,
    message: error instanceof Error ? error.message : String(error),
    maxCommands: bound,
  };
}

function corpusFiles(where: string): string[] {
  if (!existsSync(where)) return [];
  return readdirSync(where).filter((f) => f.startsWith("sqlite_") && f.endsWith(".json")).sort().map((f) => `${where}/${f}`);
}

function fileOf(entry: CorpusEntry): string {
  return `${out}/corpus/${entry.signature.replace(/[^A-Za-z0-9_-]+/g, "_")}.json`;
}

function main(): number {
  mkdirSync(`${out}/corpus`, { recursive: true });
  const started = Date.now();
  const failures = new Map<string, CorpusEntry>();
  const saved = corpusFiles(`${out}/corpus`);
  for (const file of saved) {
    const entry = JSON.parse(readFileSync(file, "utf8")) as CorpusEntry;
    const bound = entry.maxCommands ?? sqliteMaxCommands;
    const details = fc.check(sqliteProperty(bound), { seed: entry.seed, path: entry.path, numRuns: 1, endOnFailure: true });
    console.log(`replay ${file}: ${details.failed ? `fails (${entryOf(details, bound).signature})` : "passes"}`);
    if (details.failed) failures.set(entry.signature, entryOf(details, bound));
  }
  const property = sqliteProperty();
  const violationsBefore = stats();
  let runs = 0, seed = seed0, lastProgress = 0;
  const end = started + time * 1000;
  while (Date.now() < end && (runsLimit === 0 || runs < runsLimit)) {
    const numRuns = runsLimit === 0 ? 5 : Math.min(5, runsLimit - runs);
    const details = fc.check(property, { seed, numRuns, endOnFailure: true });
    runs += details.numRuns;
    if (details.failed) {
      const entry = entryOf(details, sqliteMaxCommands);
      if (!failures.has(entry.signature)) failures.set(entry.signature, entry);
    }
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    if (Date.now() - lastProgress > 1000) {
      lastProgress = Date.now();
      const s = (Date.now() - started) / 1000, commands = [...sqliteCommandCounts.values()].reduce((a, b) => a + b, 0);
      process.stderr.write(`\r[sqlite ${runtime.name}] ${s.toFixed(0)}s  runs ${runs}  commands/s ${(commands / s).toFixed(0)}  failures ${failures.size}   `);
    }
  }
  process.stderr.write("\n");
  const elapsed = (Date.now() - started) / 1000;
  const commands = [...sqliteCommandCounts.values()].reduce((a, b) => a + b, 0);
  const after = stats();
  const violations = ["doubleFrees", "invalidFrees", "overruns", "underruns", "writesAfterFree"] as const;
  const violationTotal = violations.reduce((n, k) => n + after[k] - violationsBefore[k], 0);
  const leakedBlocks = liveBlocks().filter((b) => b.tag === "sqlite").length;
  for (const entry of failures.values()) writeFileSync(fileOf(entry), JSON.stringify(entry, null, 2) + "\n");
  const summary = {
    runtime: runtime.name,
    run_time: elapsed,
    seed: seed0,
    runs,
    commands,
    commands_per_sec: commands / elapsed,
    failures: failures.size,
    violations: violationTotal,
    sqlite_blocks_left: leakedBlocks,
    sqlite_allocations: after.totalAllocs - violationsBefore.totalAllocs,
    corpus_replayed: saved.length,
    command_counts: Object.fromEntries(sqliteCommandCounts),
  };
  const statsFile = `${out}/stats.json`;
  const all = existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, "utf8")) : {};
  all[runtime.name] = summary;
  writeFileSync(statsFile, JSON.stringify(all, null, 2) + "\n");
  console.log(
    `== sqlite fuzz campaign (${runtime.name}): ${runs} runs, ${commands} commands in ${elapsed.toFixed(1)} s (${summary.commands_per_sec.toFixed(0)} commands/s), ` +
      `${summary.sqlite_allocations} tracked allocations, ${violationTotal} violations, ${leakedBlocks} leaks, ${failures.size} failures`,
  );
  console.log(`commands: ${Object.entries(summary.command_counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  for (const entry of failures.values()) console.log(`FAILURE ${entry.signature}: ${entry.message}\n  commands: ${entry.counterexample}\n  replay: ${fileOf(entry)} (seed ${entry.seed}, path ${entry.path})`);
  return failures.size === 0 && violationTotal === 0 && leakedBlocks === 0 ? 0 : 1;
}

process.exit(main());
