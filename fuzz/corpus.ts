/**
 * The saved failures of a fuzz campaign and what both campaigns (fuzz/campaign.ts,
 * fuzz/sqlite/campaign.ts) share around them: what a failure is saved as, where its file
 * goes, which entries replay, the seed after a batch, and OUT/stats.json.
 *
 * @module
 */
import type { RunDetails } from "fast-check";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { runtime } from "../src/ffi/mod.ts";
import { FuzzFailure, type Recipe, recipeFromJson, recipeToJson } from "./command.ts";

/** One saved failure. */
export interface CorpusEntry {
  readonly signature: string;
  /**
   * The commands the failing run ran, as their recipes: what a replay runs. Entries saved
   * before recipes were saved (and SQLite entries) have none, and replay by seed and path.
   */
  readonly commands?: readonly Recipe[];
  readonly seed: number;
  readonly path: string;
  readonly counterexample: string;
  readonly code: string;
  readonly runtime: string;
  readonly message: string;
  /** The run length bound the seed and path were found under (600 when absent). */
  readonly maxCommands?: number;
}

/** An entry as its file holds it: one command a line, so that a diff of two entries reads. */
export function formatEntry(entry: CorpusEntry): string {
  const { commands, ...rest } = entry;
  const head = JSON.stringify(rest, null, 2);
  if (commands === undefined) return head + "\n";
  const lines = commands.map((recipe) => `    ${JSON.stringify(recipeToJson(recipe))}`);
  return `${head.slice(0, -2)},\n  "commands": [\n${lines.join(",\n")}\n  ]\n}\n`;
}

/** The entry a corpus file holds. */
export function parseEntry(text: string): CorpusEntry {
  const json = JSON.parse(text) as CorpusEntry & { commands?: unknown[] };
  return { ...json, commands: json.commands?.map(recipeFromJson) };
}

/** Where and how a failure was found, for its entry. */
export interface Found {
  readonly seed: number;
  readonly path: string;
  readonly counterexample: string;
  /** The run length bound. */
  readonly bound: number;
  readonly commands?: readonly Recipe[];
}

/** The entry of the failure `error`; `prefix` starts its signature (`sqlite:` for the SQLite campaign). */
export function entryOf(error: unknown, found: Found, prefix = ""): CorpusEntry {
  const failure = error instanceof FuzzFailure ? error : undefined;
  const code = failure?.code ?? "THROWN";
  const command = failure?.command.replace(/\(.*/, "") ?? "unknown";
  return {
    signature: `${prefix}${failure?.oracle ?? "error"}:${command}:${code}`,
    commands: found.commands,
    seed: found.seed,
    path: found.path,
    counterexample: found.counterexample,
    code,
    runtime: runtime.name,
    message: error instanceof Error ? error.message : String(error),
    maxCommands: found.bound,
  };
}

/** Where a failed fast-check run was found, under the run length `bound`. */
export function foundBy<T>(details: RunDetails<[T]>, bound: number): Found {
  return { seed: details.seed, path: details.counterexamplePath ?? "", counterexample: String(details.counterexample?.[0] ?? ""), bound };
}

/**
 * Why `entry` cannot be replayed, or undefined when it can. A worker that hung or crashed
 * saved no run's commands, only the seed of the batch it was in: the campaign can run that
 * batch again, a replay cannot.
 */
export function notReplayable(entry: CorpusEntry): string | undefined {
  if (entry.code !== "HANG" && entry.code !== "CRASH") return undefined;
  return `not replayable (a ${entry.code === "HANG" ? "hung" : "crashed"} worker saves no commands): rerun its batch with --seed=${entry.seed}`;
}

/** The corpus files at `where` (a folder, or one .json file) whose names start with `prefix`. */
export function corpusFiles(where: string, prefix = ""): string[] {
  if (!existsSync(where)) return [];
  if (where.endsWith(".json")) return [where];
  return readdirSync(where).filter((f) => f.startsWith(prefix) && f.endsWith(".json")).sort().map((f) => `${where}/${f}`);
}

/** The file `entry` is saved to under the campaign's `out` folder. */
export function fileOf(out: string, entry: CorpusEntry): string {
  return `${out}/corpus/${entry.signature.replace(/[^A-Za-z0-9_-]+/g, "_")}.json`;
}

/** The seed after `seed`: the next batch's, in a worker and for the worker that takes over from one. */
export function nextSeed(seed: number): number {
  return (seed * 1103515245 + 12345) % 2 ** 31;
}

/** Writes `stats` under this runtime's name into OUT/stats.json, keeping the other runtimes' there. */
export function saveStats(out: string, stats: unknown): void {
  const file = `${out}/stats.json`;
  const all = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  all[runtime.name] = stats;
  writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
}
