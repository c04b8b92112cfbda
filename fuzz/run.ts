/**
 * One fuzz property: a generated command sequence run against a fresh model and the real
 * system, then everything released, garbage collected, and checked for leaks. Families are
 * loaded from every file in fuzz/commands/.
 *
 * @module
 */
import fc from "fast-check";
import { readdirSync } from "node:fs";
import process from "node:process";
import { openCallbacks } from "../src/bindings/callbacks.ts";
import { events, states } from "../src/ownership/transitions.ts";
import { borrow } from "../src/ownership/wrapper.ts";
import { checkOracles, expectOutcome, type Family, fail, type FuzzCommand, type Recipe, run } from "./command.ts";
import { collectDropped, dropped } from "./commands/lifecycle.ts";
import { releaseReport } from "./commands/memory.ts";
import { isCustodyKind, Model } from "./model.ts";
import { counters, lib, Real, types } from "./system.ts";

const folder = new URL("./commands/", import.meta.url);
// FUZZ_SKIP_FAMILIES=memory,capsules leaves those families out (see "Fuzz campaigns" in the README).
const skipped = new Set((process.env.FUZZ_SKIP_FAMILIES ?? "").split(",").filter(Boolean).map((name) => `${name}.ts`));
const files = readdirSync(folder).filter((f) => f.endsWith(".ts") && !skipped.has(f)).sort();
/** Every family of commands. */
export const families: Family[] = await Promise.all(files.map(async (f) => (await import(new URL(f, folder).href) as { family: Family }).family));

/**
 * The longest run: long runs spread a run's fixed costs (its forced collections, the
 * cleanup) over many commands. Corpus entries record it: a seed and shrink path only
 * replay the same commands under the same bound.
 */
export const maxCommands = 4000;

/** The bound of the corpus entries saved before entries recorded theirs. */
export const legacyMaxCommands = 600;

/** The arbitrary of one run's commands, at most `bound` of them. */
export function commandsArbitrary(bound: number = maxCommands): fc.Arbitrary<Iterable<FuzzCommand>> {
  return fc.commands(families.flatMap((f) => [...f.commands]), { maxCommands: bound, size: "max" });
}

/** Coverage over every run of this process: state x event counts. */
export const coverage = new Uint32Array(states.length * events.length);

/** Releases everything the run left, forces collection, and checks that nothing leaks. */
async function finish(model: Model, real: Real, callbacksBefore: number): Promise<void> {
  const label = "cleanup";
  for (let round = 0; round < 20; round++) {
    for (const wrapper of model.wrappers) {
      if (!wrapper.held || !wrapper.native.alive && wrapper.state !== "invalid") continue;
      const object = real.get(wrapper.id);
      // Memory and capsules too: what else they leave, their family's finish takes.
      if (wrapper.state === "owned") {
        const reported = releaseReport(model, wrapper);
        if (reported === undefined) model.apply(wrapper, "release");
        expectOutcome(label, reported, () => object.release());
      } else if (wrapper.state === "native" && !isCustodyKind(wrapper.native.kind)) {
        model.apply(wrapper, "invalidate");
        lib.wg_widget_destroy(object as never);
        model.destroyNative(wrapper.native);
      }
    }
    // Natively owned objects whose wrapper was collected: native code destroys them.
    for (const native of model.natives) {
      const entry = native.entry;
      if (!native.alive || entry === undefined || !entry.collected || entry.state !== "native") continue;
      const again = borrow(types.Widget, real.address[entry.id]);
      const wrapper = model.addWrapper(native, "native");
      real.add(again);
      model.apply(wrapper, "invalidate");
      lib.wg_widget_destroy(again as never);
      model.destroyNative(native);
    }
    for (const family of families) family.finish?.(model, real);
    if (dropped(model).length === 0) break;
    // Dropped wrappers the runtime has not collected yet JS takes back and releases: a forced
    // collection costs milliseconds, and dropThenGc already covers collection. Only wrappers
    // collected meanwhile need one, so that their finalizers run before the counts are read.
    for (const wrapper of dropped(model)) if (real.takeBack(wrapper.id) !== undefined) model.hold(wrapper, true);
    if (dropped(model).length > 0) await collectDropped(model, real, label);
  }
  checkOracles(model, label);
  // The oracles read the model's kept counts: once per run, they must match a full recount.
  const recount = model.recount();
  if (recount.natives !== model.liveNatives() || recount.entries !== model.liveEntries()) {
    fail("model", label, "MODEL_COUNTS", `the model kept ${model.liveNatives()} live objects and ${model.liveEntries()} entries, its records say ${recount.natives} and ${recount.entries}`);
  }
  const blocks = counters().liveBlocks - run.baseline!.liveBlocks;
  if (blocks !== 0) fail("leak", label, "LIVE_BLOCKS", `${blocks} blocks of the tracked allocator are left after releasing everything`);
  if (model.liveEntries() !== 0) fail("leak", label, "LIVE_ENTRIES", `${model.liveEntries()} registry entries are left after releasing everything`);
  if (model.liveNatives() !== 0) fail("leak", label, "LEAK", `${model.liveNatives()} native objects are left after releasing everything`);
  if (dropped(model).length !== 0) fail("leak", label, "NOT_COLLECTED", `${dropped(model).length} dropped wrappers were never collected`);
  // Every callback the run made is closed: with its window, or by the command that made it.
  const callbacks = openCallbacks() - callbacksBefore;
  if (callbacks !== 0) fail("leak", label, "OPEN_CALLBACKS", `${callbacks} callbacks are left open after releasing everything`);
}

/** The commands each failed run ran, by the error it threw. */
const ranBefore = new WeakMap<object, readonly Recipe[]>();

/**
 * Runs `commands` against a fresh model and the real system, then releases everything and
 * checks for leaks. Throws the first failure; {@linkcode commandsOf} tells what ran until then.
 */
export async function runCommands(commands: Iterable<FuzzCommand>): Promise<void> {
  run.baseline = counters();
  run.ran = [];
  const callbacksBefore = openCallbacks();
  const model = new Model(coverage);
  const real = new Real();
  try {
    // What fc.asyncModelRun does (check, then run and await), without the chain of a promise per
    // command it builds up front: about 5% of a Deno campaign's time. Each command still ends
    // in an await, so custody sees a job end between any two commands, as before.
    for (const command of commands) if (command.check(model)) await command.run(model, real);
    await finish(model, real, callbacksBefore);
  } catch (error) {
    if (typeof error === "object" && error !== null) ranBefore.set(error, run.ran.map((step) => step.recipe!));
    throw error;
  }
}

/** The commands the run that threw `error` ran, up to the failing one: what a saved failure replays. */
export function commandsOf(error: unknown): readonly Recipe[] | undefined {
  return typeof error === "object" && error !== null ? ranBefore.get(error) : undefined;
}

/** The property every run checks, over runs of at most `bound` commands. */
export function propertyOf(bound: number = maxCommands): fc.IAsyncProperty<[Iterable<FuzzCommand>]> {
  return fc.asyncProperty(commandsArbitrary(bound), runCommands);
}

/** The property of a campaign's runs. */
export const property: fc.IAsyncProperty<[Iterable<FuzzCommand>]> = propertyOf();
