/**
 * What every fuzz command shares: picking objects from the model, calling the real system
 * while predicting the outcome, and the oracles that run after every command.
 *
 * A family of commands is one file in fuzz/commands/ exporting `family`: a name and the
 * arbitraries of its commands. The campaign loads every file there.
 *
 * @module
 */
import fc from "fast-check";
import { CustodyError, type ErrorCode } from "../src/errors.ts";
import { type Event, refusedWhileKeptAlive } from "../src/ownership/transitions.ts";
import { violationCount } from "../src/stats.ts";
import type { Model, NativeModel, WrapperModel } from "./model.ts";
import { counters, type Real } from "./system.ts";

/** A command of the fuzz. */
export type FuzzCommand = fc.AsyncCommand<Model, Real>;

/** One file of fuzz/commands/. */
export interface Family {
  readonly name: string;
  readonly commands: readonly fc.Arbitrary<Step>[];
  /**
   * Lets go of what the family's objects leave at the end of a run that the generic cleanup
   * (release what JS owns) cannot, and checks its own end-of-run oracles.
   */
  readonly finish?: (model: Model, real: Real) => void;
}

/** A disagreement between the real system and the model: what failed, for the corpus signature. */
export class FuzzFailure extends Error {
  constructor(
    readonly oracle: string,
    readonly command: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Per-command counts of one process, for stats.json. */
export const commandCounts = new Map<string, number>();

/** The counters at the start of a run: the oracles compare differences. */
export type Baseline = ReturnType<typeof counters>;

/** Holds the baseline of the current run and the commands it ran so far (set by the runner). */
export const run = { baseline: undefined as Baseline | undefined, ran: [] as Step[] };

/** The oracles of design section 6, after every command. */
export function checkOracles(model: Model, command: string): void {
  const base = run.baseline!;
  const now = counters();
  checkViolations(command, base.violations, now.violations);
  if (now.deadCalls !== base.deadCalls) fail("dead-call", command, "DEAD_CALL", `${now.deadCalls - base.deadCalls} calls reached the library with a dead object`);
  const objects = now.liveObjects - base.liveObjects, expectedObjects = model.liveNatives();
  if (objects !== expectedObjects) fail("live-objects", command, "LIVE_OBJECTS", `${objects} native objects live, the model expects ${expectedObjects}`);
  const entries = now.liveEntries - base.liveEntries, expectedEntries = model.liveEntries();
  if (entries !== expectedEntries) fail("registry", command, "LIVE_ENTRIES", `${entries} registry entries live, the model expects ${expectedEntries}`);
}

/** The allocator oracle: no violation since the count was `since` (`now` is the count now). */
export function checkViolations(command: string, since: number, now: number = violationCount()): void {
  if (now !== since) fail("allocator", command, "VIOLATION", `the tracked allocator reported ${now - since} violations`);
}

/**
 * The destructor oracle: a JS destructor ran once if the table destroyed its object (release,
 * dispose or collect while owned), never otherwise. `what` names the object in the message.
 */
export function checkDestructorRuns(wrapper: WrapperModel, runs: number, what: string, command: string): void {
  const expected = wrapper.destroyed ? 1 : 0;
  if (runs !== expected) fail("destructor", command, "DESTRUCTOR_RUNS", `the ${what} ran ${runs} times, the model expects ${expected}`);
}

/** Throws a {@linkcode FuzzFailure}. */
export function fail(oracle: string, command: string, code: string, message: string): never {
  throw new FuzzFailure(oracle, command, code, `${command}: ${message}`);
}

/**
 * Runs `call` expecting it to throw a CustodyError with `code`, or (undefined) to succeed.
 * Returns the call's result when it succeeded.
 */
export function expectOutcome<T>(command: string, code: ErrorCode | undefined, call: () => T): T {
  let result: T;
  try {
    result = call();
  } catch (error) {
    if (error instanceof FuzzFailure) throw error;
    const actual = error instanceof CustodyError ? error.code : "THROWN";
    if (code === actual) return undefined as T;
    if (code === undefined) fail("outcome", command, actual, `expected success, got ${actual}: ${(error as Error).message}`);
    fail("outcome", command, actual, `expected ${code}, got ${actual}: ${(error as Error).message}`);
  }
  if (code !== undefined) fail("outcome", command, "SUCCEEDED", `expected ${code}, but the call succeeded`);
  return result;
}

/**
 * The refusal a bound call raises for its object arguments, in argument order: each is used
 * (INVALID_OBJECT when invalid), then checked for its event. Counts every pair looked at.
 */
export function refusalOf(model: Model, args: readonly (readonly [WrapperModel, Event])[]): ErrorCode | undefined {
  for (const [wrapper, event] of args) {
    model.count(wrapper, "use");
    const use = model.predict(wrapper, "use");
    if (!use.allowed) return use.code;
    if (event === "use") continue;
    const predicted = model.predict(wrapper, event);
    if (!predicted.allowed) {
      model.count(wrapper, event);
      return predicted.code;
    }
    if (refusedWhileKeptAlive.has(event) && wrapper.native.keptBy.size > 0) return "KEPT_ALIVE";
  }
  return undefined;
}

const heldCache = new WeakMap<Model, { version: number; lists: Map<string | undefined, readonly WrapperModel[]> }>();

/**
 * The wrappers JS holds, optionally of one kind. Every command's precondition asks, so the
 * lists are kept until the model's held set changes.
 */
export function heldWrappers(model: Model, kind?: string): readonly WrapperModel[] {
  let cache = heldCache.get(model);
  if (cache === undefined || cache.version !== model.heldVersion) {
    cache = { version: model.heldVersion, lists: new Map() };
    heldCache.set(model, cache);
  }
  let list = cache.lists.get(kind);
  if (list === undefined) {
    list = model.wrappers.filter((w) => w.held && (kind === undefined || w.native.kind === kind));
    cache.lists.set(kind, list);
  }
  return list;
}

/** Picks `list[n % length]`, or undefined from an empty list. */
export function pick<T>(list: readonly T[], n: number): T | undefined {
  return list.length === 0 ? undefined : list[n % list.length];
}

/**
 * Whether using `wrapper` in a native call is something custody can be asked to guard. A
 * wrapper custody believes valid while its native object died without anyone telling custody
 * cannot be guarded by anyone: the model never generates that call.
 */
export function guardable(wrapper: WrapperModel): boolean {
  return wrapper.state === "invalid" || wrapper.native.alive;
}

/**
 * The wrapper native code handed back for `native` (a child result, a callback argument),
 * checked against the model: the same wrapper while custody holds one (identity), else a new
 * one in the state the registry recorded, or borrowed. Returns the model's wrapper.
 */
export function identify(model: Model, real: Real, native: NativeModel, object: unknown, command: string): WrapperModel {
  const entry = native.entry;
  if (entry !== undefined && !entry.collected) {
    const known = entry.held ? real.held[entry.id] : real.uncollected(entry.id);
    if (known !== undefined) {
      if (object !== known) fail("identity", command, "IDENTITY", `a new wrapper came back for ${native.kind} #${native.id}, which custody still holds`);
      if (!entry.held) {
        model.hold(entry, true);
        real.takeBack(entry.id);
      }
      return entry;
    }
    // Collected meanwhile: its finalizer may not have run yet, the entry stays.
    model.apply(entry, "collect");
    entry.collected = true;
  }
  for (const w of model.wrappers) if (w.held && real.held[w.id] === object) fail("identity", command, "IDENTITY", `an old wrapper came back for a new registry entry`);
  const wrapper = model.addWrapper(native, native.entry?.state ?? "borrowed");
  real.add(object as never);
  return wrapper;
}

/** A command with a name, arguments for its label, a precondition and a body. */
export abstract class Step implements FuzzCommand {
  abstract readonly name: string;
  /** Whether the command can run on this model (resolves its picks). */
  abstract check(model: Readonly<Model>): boolean;
  /** Runs it on the real system and the model together. */
  abstract act(model: Model, real: Real): void | Promise<void>;
  /** The command's arguments for the counterexample. */
  abstract describe(): string;

  /** How to build this command again: set by {@linkcode command}. */
  recipe: Recipe | undefined = undefined;

  async run(model: Model, real: Real): Promise<void> {
    run.ran.push(this);
    commandCounts.set(this.name, (commandCounts.get(this.name) ?? 0) + 1);
    await this.act(model, real);
    checkOracles(model, this.toString());
  }

  toString(): string {
    return `${this.name}(${this.describe()})`;
  }
}

/**
 * A command as a saved failure stores it: the name it was registered under and the value
 * its arbitrary generated. Rebuilt by {@linkcode rebuild}, it is the same command whatever
 * later changes to the families do to what a seed and shrink path generate.
 */
export type Recipe = readonly [name: string, value: unknown];

const builders = new Map<string, (value: never) => Step>();

/**
 * The arbitrary of one command: `build` turns a generated value into the command, and is
 * kept under `name` so that a saved failure can build the same command from the same value.
 */
export function command<T>(name: string, arbitrary: fc.Arbitrary<T>, build: (value: T) => Step): fc.Arbitrary<Step> {
  if (builders.has(name)) throw new Error(`fuzz: two commands are registered as ${name}`);
  builders.set(name, build);
  return arbitrary.map((value) => {
    const made = build(value);
    made.recipe = [name, value];
    return made;
  });
}

/** The command a {@linkcode Recipe} names, built again. */
export function rebuild(recipe: Recipe): Step {
  const [name, value] = recipe;
  const build = builders.get(name);
  if (build === undefined) throw new Error(`fuzz: no command is registered as ${name}`);
  const made = build(value as never);
  made.recipe = recipe;
  return made;
}

/** A recipe as JSON holds it: JSON has no undefined (an option left empty), so it is spelled `{ "undefined": true }`. */
export function recipeToJson(recipe: Recipe): unknown {
  const encode = (value: unknown): unknown => value === undefined ? { undefined: true } : Array.isArray(value) ? value.map(encode) : value;
  return encode(recipe);
}

/** The {@linkcode Recipe} {@linkcode recipeToJson} wrote. */
export function recipeFromJson(json: unknown): Recipe {
  const decode = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(decode) : typeof value === "object" && value !== null && (value as { undefined?: unknown }).undefined === true ? undefined : value;
  const recipe = decode(json);
  if (!Array.isArray(recipe) || recipe.length !== 2 || typeof recipe[0] !== "string") throw new Error(`fuzz: ${JSON.stringify(json)} is not a saved command`);
  return recipe as unknown as Recipe;
}

/** A small non-negative integer, to pick an object among those that fit. */
export const index: fc.Arbitrary<number> = fc.nat(1023);

/**
 * A {@linkcode Step} made of functions. One class for every command: a class per command
 * (each with its own prototype) made generating a run cost more than running it on Deno, and
 * left every call site that sees commands megamorphic.
 */
class FunctionStep extends Step {
  constructor(
    readonly name: string,
    private readonly args: string,
    private readonly precondition: (model: Readonly<Model>) => boolean,
    private readonly body: (model: Model, real: Real, label: string) => void | Promise<void>,
  ) {
    super();
  }
  check(model: Readonly<Model>): boolean {
    return this.precondition(model);
  }
  act(model: Model, real: Real): void | Promise<void> {
    return this.body(model, real, this.toString());
  }
  describe(): string {
    return this.args;
  }
}

/** Builds a {@linkcode Step} from functions: most commands are a few lines. */
export function step(
  name: string,
  args: string,
  check: (model: Readonly<Model>) => boolean,
  act: (model: Model, real: Real, label: string) => void | Promise<void>,
): Step {
  return new FunctionStep(name, args, check, act);
}
