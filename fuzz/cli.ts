/**
 * The command line of the fuzz scripts (fuzz/campaign.ts, fuzz/sqlite/campaign.ts,
 * fuzz/mutants.ts): `--name=value` options. Imports nothing native, so that the mutant
 * runner can use it without loading a library.
 *
 * @module
 */
import process from "node:process";

/** The `--name=value` options of a command line (`--flag` alone is `"true"`). */
export function cliArgs(argv: readonly string[] = process.argv.slice(2)): Record<string, string> {
  return Object.fromEntries(argv.map((a) => a.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]));
}

/** The options every campaign takes: `--time=SECONDS --runs=N --seed=N --out=DIR`. */
export interface CampaignOptions {
  readonly time: number;
  /** 0: no limit but the time. */
  readonly runs: number;
  /** The first batch's seed: `--seed`, else a random one. */
  readonly seed: number;
  readonly out: string;
}

/** The campaign options in `args`, writing to `defaultOut` unless `--out` says otherwise. */
export function campaignOptions(args: Readonly<Record<string, string>>, defaultOut: string): CampaignOptions {
  return {
    time: Number(args.time ?? 60),
    runs: Number(args.runs ?? 0),
    seed: args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed),
    out: args.out ?? defaultOut,
  };
}
