/**
 * Measuring several cases side by side with mitata. The same call measured later in a
 * process can take twice as long (seen on Bun and Deno here), so the cases alternate round
 * after round and each reports its median round, with that round's p25 and p75 as the spread.
 *
 * @module
 */
import { measure } from "mitata";

/** One case's figures: its median round's median, p25 and p75, in nanoseconds. */
export interface Figures {
  readonly p50: number;
  readonly p25: number;
  readonly p75: number;
}

/** Measures every case in `cases`, alternating, for `rounds` rounds (odd, so one round is the median). */
export async function alternate<Name extends string>(
  cases: Record<Name, () => unknown>,
  rounds = 3,
): Promise<Record<Name, Figures>> {
  const names = Object.keys(cases) as Name[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as Figures[]])) as Record<Name, Figures[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const { p25, p50, p75 } = await measure(cases[name]);
      samples[name].push({ p25, p50, p75 });
    }
  }
  const median = (figures: Figures[]) => [...figures].sort((a, b) => a.p50 - b.p50)[Math.floor(figures.length / 2)];
  return Object.fromEntries(names.map((name) => [name, median(samples[name])])) as Record<Name, Figures>;
}

/** `name_ns`, `name_ns_p25` and `name_ns_p75` for a result object. */
export function nanoseconds(name: string, figures: Figures): Record<string, number> {
  return { [`${name}_ns`]: figures.p50, [`${name}_ns_p25`]: figures.p25, [`${name}_ns_p75`]: figures.p75 };
}

/** The median, minimum and maximum of a few timed batches, in nanoseconds. */
export interface Range {
  readonly p50: number;
  readonly min: number;
  readonly max: number;
}

/** The median, minimum and maximum of `values` (an odd count, so the median is one of them). */
export function range(values: readonly number[]): Range {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
}

/** `name_ns`, `name_ns_min` and `name_ns_max` for a result object. */
export function nanosecondRange(name: string, figures: Range): Record<string, number> {
  return { [`${name}_ns`]: figures.p50, [`${name}_ns_min`]: figures.min, [`${name}_ns_max`]: figures.max };
}

/** Lets finalizers run: a forced collection and an event-loop turn, `times` times. */
export async function collect(collectGarbage: () => boolean, times = 3): Promise<void> {
  for (let i = 0; i < times; i++) {
    if (!collectGarbage()) throw new Error("Cannot force a collection: run Deno with --v8-flags=--expose-gc");
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
