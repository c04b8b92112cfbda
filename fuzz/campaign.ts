/**
 * The fuzz campaign CLI: replays the saved corpus, then runs the property for a time budget
 * or a number of runs in WORKERS processes, prints a progress line, and writes OUT/stats.json
 * (AFL fuzzer_stats-like, with the state x event coverage matrix) and OUT/corpus/*.json.
 * Exits non-zero on any failure.
 *
 *   deno run -A --v8-flags=--expose-gc fuzz/campaign.ts --time=60 --workers=2 --out=.fuzz
 *   bun fuzz/campaign.ts --time=60
 *
 * Options: --time=SECONDS --runs=N --seed=N --workers=N --out=DIR --replay=FILE|DIR, and --stop=first to
 * end at the first failure (what `make mutants` times; stats.json records `first_failure` either way).
 *
 * @module
 */
import fc from "fast-check";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { runtime } from "../src/ffi/mod.ts";
import { events, states } from "../src/ownership/transitions.ts";
import { commandCounts, type FuzzCommand, rebuild, run } from "./command.ts";
import { campaignOptions, cliArgs } from "./cli.ts";
import { type CorpusEntry, corpusFiles, entryOf, fileOf, foundBy, formatEntry, nextSeed, notReplayable, parseEntry, saveStats } from "./corpus.ts";
import { pairIndex, reachablePairs } from "./model.ts";
import { commandsOf, coverage, legacyMaxCommands, maxCommands, property, propertyOf, runCommands } from "./run.ts";
import { counters } from "./system.ts";

const args = cliArgs();
const { time, runs: runsLimit, out, seed: seed0 } = campaignOptions(args, ".fuzz");
const workers = Math.max(1, Number(args.workers ?? 1));
const stopAtFirst = args.stop === "first";

function entryOfRun(details: fc.RunDetails<[Iterable<FuzzCommand>]>, bound: number = maxCommands): CorpusEntry {
  return entryOf(details.errorInstance, { ...foundBy(details, bound), commands: commandsOf(details.errorInstance) });
}

/**
 * Replays one saved failure: its commands when it saved them, else its seed and shrink path
 * (which only regenerate the same commands while the families stay as they were). Returns the
 * failure it still shows, or undefined once fixed.
 */
export async function replay(entry: Pick<CorpusEntry, "commands" | "seed" | "path" | "maxCommands">): Promise<CorpusEntry | undefined> {
  await settle();
  if (entry.commands !== undefined) {
    const commands = entry.commands.map(rebuild);
    try {
      await runCommands(commands);
      return undefined;
    } catch (error) {
      const found = { seed: entry.seed, path: entry.path, counterexample: run.ran.map(String).join(","), bound: entry.maxCommands ?? maxCommands };
      return entryOf(error, { ...found, commands: commandsOf(error) });
    }
  }
  const bound = entry.maxCommands ?? legacyMaxCommands;
  const details = await fc.check(bound === maxCommands ? property : propertyOf(bound), { seed: entry.seed, path: entry.path, numRuns: 1, endOnFailure: true });
  return details.failed ? entryOfRun(details, bound) : undefined;
}

/**
 * Collects what code before the replay dropped until the live counts stop moving: a replay
 * inside a test process must not see another test's objects finalized in the middle of it.
 */
async function settle(): Promise<void> {
  let before = counters();
  for (let round = 0; round < 10; round++) {
    runtime.collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 1));
    const now = counters();
    if (now.liveObjects === before.liveObjects && now.liveEntries === before.liveEntries) return;
    before = now;
  }
}

/**
 * Runs the property until the time or the runs are used up, or a run fails: a failed run ends
 * without its cleanup, and what it left (objects, registry entries, callbacks, finalizers still
 * to come) would move the counters of the runs after it. The campaign starts a new worker.
 */
async function worker(): Promise<void> {
  const end = Date.now() + time * 1000;
  let runs = 0, seed = seed0, failed = false;
  const emit = (line: unknown) => process.stdout.write(JSON.stringify(line) + "\n");
  let last = 0;
  while (!failed && Date.now() < end && (runsLimit === 0 || runs < runsLimit)) {
    const numRuns = runsLimit === 0 ? 5 : Math.min(5, runsLimit - runs);
    // Said first, so that the campaign can name the seed if these runs never end.
    emit({ checking: seed });
    const details = await fc.check(property, { seed, numRuns, endOnFailure: true });
    runs += details.numRuns;
    if (details.failed) {
      // As its file would hold it: plain JSON would turn an undefined in a recipe into null.
      emit({ failure: formatEntry(entryOfRun(details)) });
      failed = true;
    }
    seed = nextSeed(seed);
    if (Date.now() - last > 500 || Date.now() >= end) {
      last = Date.now();
      emit({ runs, commands: Object.fromEntries(commandCounts), coverage: [...coverage] });
    }
  }
  emit({ runs, commands: Object.fromEntries(commandCounts), coverage: [...coverage], done: true, failed, seed });
}

function workerCommand(seconds: number, runs: number, seed: number): [string, string[]] {
  const script = runtime.pathOf(new URL(import.meta.url));
  const pass = [`--worker=true`, `--time=${seconds}`, `--runs=${runs}`, `--seed=${seed}`];
  if (runtime.name === "bun") return [process.execPath, [script, ...pass]];
  return [process.execPath, ["run", "--allow-all", "--v8-flags=--expose-gc", script, ...pass]];
}

/**
 * A worker that says nothing for this long is stuck in a run (a deadlock or an endless loop,
 * native or not: the process cannot report it itself): the campaign kills it and records a
 * failure. A run takes well under a second; its forced collection tens of milliseconds.
 */
const hangSeconds = 20;

/** What a worker reports: its process's counts so far, and at its end whether a run failed and its last seed. */
interface WorkerReport {
  runs: number;
  commands: Record<string, number>;
  coverage: number[];
  done?: boolean;
  failed?: boolean;
  seed?: number;
}

function table(matrix: number[]): string {
  const width = Math.max(...events.map((e) => e.length)) + 1;
  const lines = [`${"".padEnd(width)}${states.map((s) => s.padStart(10)).join("")}`];
  for (const e of events) {
    lines.push(`${e.padEnd(width)}${states.map((s) => {
      const reachable = reachablePairs.some(([rs, re]) => rs === s && re === e);
      const n = matrix[pairIndex(s, e)];
      return (reachable ? (n === 0 ? "--" : String(n)) : "n/a").padStart(10);
    }).join("")}`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  mkdirSync(`${out}/corpus`, { recursive: true });
  const started = Date.now();
  const failures = new Map<string, CorpusEntry>();
  /** When the first failure was found (seconds since the start) and what it was. */
  let firstFailure: { seconds: number; signature: string; oracle: string; code: string } | undefined;
  const found = (entry: CorpusEntry) => {
    if (!failures.has(entry.signature)) failures.set(entry.signature, entry);
    firstFailure ??= { seconds: (Date.now() - started) / 1000, signature: entry.signature, oracle: entry.signature.split(":")[0], code: entry.code };
  };
  // The saved corpus first.
  const saved = [...corpusFiles(`${out}/corpus`), ...(args.replay ? corpusFiles(args.replay) : [])];
  for (const file of saved) {
    const entry = parseEntry(readFileSync(file, "utf8"));
    const skipped = notReplayable(entry);
    if (skipped !== undefined) {
      console.log(`replay ${file}: ${skipped}`);
      continue;
    }
    const still = await replay(entry);
    console.log(`replay ${file}: ${still === undefined ? "passes" : `fails (${still.signature})`}`);
    if (still !== undefined) found(still);
  }
  /** What each worker process reported last (the counts of its process so far). */
  const perWorker: WorkerReport[] = [];
  const total = () => {
    let runs = 0, commands = 0;
    const counts: Record<string, number> = {};
    const matrix = new Array(states.length * events.length).fill(0);
    for (const w of perWorker) {
      runs += w.runs;
      for (const [k, v] of Object.entries(w.commands)) {
        counts[k] = (counts[k] ?? 0) + v;
        commands += v;
      }
      w.coverage.forEach((v, i) => matrix[i] += v);
    }
    return { runs, commands, counts, matrix };
  };
  const progress = () => {
    const { runs, commands } = total();
    const s = (Date.now() - started) / 1000;
    process.stderr.write(`\r[${runtime.name}] ${s.toFixed(0)}s  runs ${runs}  runs/s ${(runs / s).toFixed(1)}  commands/s ${(commands / s).toFixed(0)}  failures ${failures.size}   `);
  };
  const timer = setInterval(progress, 1000);
  const children = new Set<ReturnType<typeof spawn>>();
  const deadline = started + time * 1000;
  /** Ends every worker but `child`: once the first failure is all that is asked for, their runs add nothing. */
  const stopOthers = (child: ReturnType<typeof spawn>) => {
    for (const other of children) if (other !== child) other.kill();
  };
  /** One worker process; resolves with its last report (undefined if it sent none). */
  const spawnWorker = (seconds: number, runs: number, seed: number) =>
    new Promise<WorkerReport | undefined>((resolve) => {
      const [cmd, argv] = workerCommand(seconds, runs, seed);
      const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
      children.add(child);
      const report: WorkerReport = { runs: 0, commands: {}, coverage: [] };
      perWorker.push(report);
      let reported = false, hung = false;
      let buffer = "";
      let heard = Date.now(), checking = seed;
      const watchdog = setInterval(() => {
        if (Date.now() - heard < hangSeconds * 1000) return;
        clearInterval(watchdog);
        hung = true;
        found({
          signature: "hang:worker:HANG",
          seed: checking,
          path: "",
          counterexample: "",
          code: "HANG",
          runtime: runtime.name,
          message: `no run of seed ${checking} finished in ${hangSeconds} s: a run hangs (a deadlock or an endless loop), and its worker was killed`,
        });
        // Like a failed run: the slot goes on with a new worker and the next seed.
        Object.assign(report, { failed: true, seed: nextSeed(checking) });
        reported = true;
        child.kill("SIGKILL");
        if (stopAtFirst) stopOthers(child);
      }, 1000);
      child.stdout.on("data", (chunk: Uint8Array) => {
        heard = Date.now();
        buffer += new TextDecoder().decode(chunk);
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!line.startsWith("{")) continue;
          const message = JSON.parse(line);
          if (typeof message.checking === "number") {
            checking = message.checking;
          } else if (message.failure) {
            found(parseEntry(message.failure as string));
            if (stopAtFirst) stopOthers(child);
          } else {
            Object.assign(report, message);
            reported = true;
          }
        }
      });
      child.on("close", (code) => {
        clearInterval(watchdog);
        children.delete(child);
        const killed = hung || stopAtFirst && firstFailure !== undefined;
        if (code !== 0 && !killed && !report.done) found({ signature: `crash:worker:${code ?? "signal"}`, seed: checking, path: "", counterexample: "", code: "CRASH", runtime: runtime.name, message: `worker exited with ${code ?? "a signal"}` });
        resolve(reported ? report : undefined);
      });
    });
  // Each of the WORKERS slots runs one worker process at a time; after a failed run, a new one
  // goes on with the next seed, for what is left of the time and of the slot's runs.
  const runsPerSlot = runsLimit === 0 ? 0 : Math.ceil(runsLimit / workers);
  await Promise.all(Array.from({ length: workers }, async (_, i) => {
    let seed = (seed0 + i * 7919) % 2 ** 31, runsLeft = runsPerSlot;
    for (;;) {
      const report = await spawnWorker(Math.max(0, (deadline - Date.now()) / 1000), runsLeft, seed);
      if (report?.failed !== true || stopAtFirst) return;
      runsLeft = runsPerSlot === 0 ? 0 : runsLeft - report.runs;
      if (Date.now() >= deadline || runsLeft < 0 || runsPerSlot !== 0 && runsLeft === 0) return;
      seed = report.seed ?? nextSeed(seed);
    }
  }));
  clearInterval(timer);
  progress();
  process.stderr.write("\n");
  const elapsed = (Date.now() - started) / 1000;
  const { runs, commands, counts, matrix } = total();
  const covered = reachablePairs.filter(([s, e]) => matrix[pairIndex(s, e)] > 0);
  for (const entry of failures.values()) writeFileSync(fileOf(out, entry), formatEntry(entry));
  const stats = {
    runtime: runtime.name,
    start_time: Math.floor(started / 1000),
    last_update: Math.floor(Date.now() / 1000),
    run_time: elapsed,
    seed: seed0,
    workers,
    runs,
    commands,
    runs_per_sec: runs / elapsed,
    commands_per_sec: commands / elapsed,
    commands_per_sec_per_worker: commands / elapsed / workers,
    failures: failures.size,
    first_failure: firstFailure ?? null,
    corpus_replayed: saved.length,
    command_counts: counts,
    transition_coverage: { covered: covered.length, reachable: reachablePairs.length, holes: reachablePairs.filter(([s, e]) => matrix[pairIndex(s, e)] === 0).map(([s, e]) => `${s} x ${e}`) },
    coverage_matrix: Object.fromEntries(states.map((s) => [s, Object.fromEntries(events.map((e) => [e, matrix[pairIndex(s, e)]]))])),
  };
  saveStats(out, stats);
  console.log(`\n== fuzz campaign (${runtime.name}): ${runs} runs, ${commands} commands in ${elapsed.toFixed(1)} s (${stats.commands_per_sec.toFixed(0)} commands/s), ${failures.size} failures`);
  console.log(`transition coverage: ${covered.length}/${reachablePairs.length} reachable state x event pairs`);
  console.log(table(matrix));
  for (const entry of failures.values()) {
    const how = notReplayable(entry) ?? `replay: --replay=${fileOf(out, entry)} (seed ${entry.seed}, path ${entry.path})`;
    console.log(`FAILURE ${entry.signature}: ${entry.message}\n  ${how}`);
  }
  return failures.size === 0 ? 0 : 1;
}

const isMain = (import.meta as { main?: boolean }).main ?? false;
if (isMain && args.worker === "true") await worker();
else if (isMain) process.exit(await main());
