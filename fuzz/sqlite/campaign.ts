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
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { runtime } from "../../src/ffi/mod.ts";
import { stats, violationCount } from "../../src/stats.ts";
import { liveBlocks } from "../../src/allocator.ts";
import { campaignOptions, cliArgs } from "../cli.ts";
import { type CorpusEntry, corpusFiles, entryOf, fileOf, formatEntry, foundBy, nextSeed, parseEntry, saveStats } from "../corpus.ts";
import { type SqliteCommand, sqliteCommandCounts } from "./commands.ts";
import { sqliteMaxCommands, sqliteProperty } from "./run.ts";

const { time, runs: runsLimit, out, seed: seed0 } = campaignOptions(cliArgs(), ".fuzz-sqlite");

function entryOfRun(details: fc.RunDetails<[Iterable<SqliteCommand>]>, bound: number): CorpusEntry {
  return entryOf(details.errorInstance, foundBy(details, bound), "sqlite:");
}

function main(): number {
  mkdirSync(`${out}/corpus`, { recursive: true });
  const started = Date.now();
  const failures = new Map<string, CorpusEntry>();
  const saved = corpusFiles(`${out}/corpus`, "sqlite_");
  for (const file of saved) {
    const entry = parseEntry(readFileSync(file, "utf8"));
    const bound = entry.maxCommands ?? sqliteMaxCommands;
    const details = fc.check(sqliteProperty(bound), { seed: entry.seed, path: entry.path, numRuns: 1, endOnFailure: true });
    console.log(`replay ${file}: ${details.failed ? `fails (${entryOfRun(details, bound).signature})` : "passes"}`);
    if (details.failed) failures.set(entry.signature, entryOfRun(details, bound));
  }
  const property = sqliteProperty();
  const before = { violations: violationCount(), allocations: stats().totalAllocs };
  let runs = 0, seed = seed0, lastProgress = 0;
  const end = started + time * 1000;
  while (Date.now() < end && (runsLimit === 0 || runs < runsLimit)) {
    const numRuns = runsLimit === 0 ? 5 : Math.min(5, runsLimit - runs);
    const details = fc.check(property, { seed, numRuns, endOnFailure: true });
    runs += details.numRuns;
    if (details.failed) {
      const entry = entryOfRun(details, sqliteMaxCommands);
      if (!failures.has(entry.signature)) failures.set(entry.signature, entry);
    }
    seed = nextSeed(seed);
    if (Date.now() - lastProgress > 1000) {
      lastProgress = Date.now();
      const s = (Date.now() - started) / 1000, commands = [...sqliteCommandCounts.values()].reduce((a, b) => a + b, 0);
      process.stderr.write(`\r[sqlite ${runtime.name}] ${s.toFixed(0)}s  runs ${runs}  commands/s ${(commands / s).toFixed(0)}  failures ${failures.size}   `);
    }
  }
  process.stderr.write("\n");
  const elapsed = (Date.now() - started) / 1000;
  const commands = [...sqliteCommandCounts.values()].reduce((a, b) => a + b, 0);
  const violationTotal = violationCount() - before.violations;
  const leakedBlocks = liveBlocks().filter((b) => b.tag === "sqlite").length;
  for (const entry of failures.values()) writeFileSync(fileOf(out, entry), formatEntry(entry));
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
    sqlite_allocations: stats().totalAllocs - before.allocations,
    corpus_replayed: saved.length,
    command_counts: Object.fromEntries(sqliteCommandCounts),
  };
  saveStats(out, summary);
  console.log(
    `== sqlite fuzz campaign (${runtime.name}): ${runs} runs, ${commands} commands in ${elapsed.toFixed(1)} s (${summary.commands_per_sec.toFixed(0)} commands/s), ` +
      `${summary.sqlite_allocations} tracked allocations, ${violationTotal} violations, ${leakedBlocks} leaks, ${failures.size} failures`,
  );
  console.log(`commands: ${Object.entries(summary.command_counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  for (const entry of failures.values()) console.log(`FAILURE ${entry.signature}: ${entry.message}\n  commands: ${entry.counterexample}\n  replay: ${fileOf(out, entry)} (seed ${entry.seed}, path ${entry.path})`);
  return failures.size === 0 && violationTotal === 0 && leakedBlocks === 0 ? 0 : 1;
}

process.exit(main());
