/**
 * Applies the transition table to one wrapper's ownership record. Checking and committing
 * are separate steps so that a call with several arguments checks all of them before it
 * changes any: a refused argument leaves every record as it was.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { type Allowed, type Event, eventDescriptions, isAllowed, type State, transitions } from "./transitions.ts";

/** What made a wrapper invalid: the event, and where it came from (a function, "gc", "native"). */
export interface Cause {
  readonly event: Event;
  readonly by: string;
}

/** One wrapper's ownership: its state and, once invalid, what invalidated it. */
export interface OwnershipRecord {
  state: State;
  cause?: Cause | undefined;
  /** The rule that decided the latest transition, for `dump()`. */
  rule?: string | undefined;
}

/** Names the object in error messages. */
export interface Subject {
  readonly typeName: string;
  readonly address: number;
}

const actions: Readonly<Record<Event, string>> = {
  use: "use",
  release: "release",
  dispose: "dispose",
  collect: "collect",
  steal: "give away",
  stealSafe: "give away",
  stealIntoParent: "give to a parent",
  invalidate: "destroy",
  adopt: "give a parent to",
  orphan: "remove the parent of",
  parentDestroyed: "invalidate",
  nativeDestroyed: "invalidate",
  callbackReturned: "invalidate",
  retain: "retain",
  consume: "consume",
  disown: "cancel the destructor of",
};

const stateExplanations: Readonly<Record<State, string>> = {
  owned: "JS owns it",
  borrowed: "it is borrowed: native code owns it",
  child: "it is a child: its parent owns it",
  native: "native code owns it",
  invalid: "it is invalid",
};

function name(subject: Subject): string {
  return `${subject.typeName} at 0x${subject.address.toString(16)}`;
}

/**
 * What `event` would do to `record`, without changing it.
 *
 * @throws {CustodyError} the table's error when the event is refused in the record's state,
 * with a message naming the object, its state and, if invalid, what invalidated it.
 *
 * @example A released object cannot be released again
 * ```ts
 * import { check, commit, type OwnershipRecord } from "./machine.ts";
 * const record: OwnershipRecord = { state: "owned" };
 * const subject = { typeName: "Window", address: 0x1000 };
 * commit(record, "release", check(record, "release", subject), { event: "release", by: "window.release()" });
 * try {
 *   check(record, "release", subject);
 * } catch (error) {
 *   console.log((error as Error).message);
 *   // Cannot release Window at 0x1000: it is invalid since `release()` called (window.release())
 * }
 * ```
 */
export function check(record: Readonly<OwnershipRecord>, event: Event, subject: Subject): Allowed {
  const allowed = permitted(record, event);
  if (allowed !== undefined) return allowed;
  const outcome = transitions[record.state][event] as Exclude<typeof transitions[State][Event], Allowed>;
  const cause = record.cause;
  const code = (cause !== undefined ? outcome.errorAfter?.[cause.event] : undefined) ?? outcome.error;
  const why = record.state === "invalid" && cause !== undefined
    ? `it is invalid since ${eventDescriptions[cause.event]} (${cause.by})`
    : stateExplanations[record.state];
  return refuse(code, `Cannot ${actions[event]} ${name(subject)}: ${why}`);
}

/**
 * The `KEPT_ALIVE` refusal of `event` (one of `refusedWhileKeptAlive`) on an object a
 * keep-alive holds, worded like the table's refusals.
 *
 * @example
 * ```ts
 * import { keptAliveError } from "./machine.ts";
 * console.log(keptAliveError("steal", { typeName: "Widget", address: 0x20 }).message);
 * // Cannot give away Widget at 0x20: a keep-alive holds it for another object
 * ```
 */
export function keptAliveError(event: Event, subject: Subject): CustodyError {
  return new CustodyError("KEPT_ALIVE", `Cannot ${actions[event]} ${name(subject)}: a keep-alive holds it for another object`);
}

/**
 * What `event` would do to `record` if the table allows it, else undefined. Hot paths call it
 * first and make the subject of an error message (for {@linkcode check}) only when the event
 * is refused.
 *
 * @example
 * ```ts
 * import { permitted } from "./machine.ts";
 * console.log(permitted({ state: "owned" }, "release")?.to); // "invalid"
 * console.log(permitted({ state: "borrowed" }, "release")); // undefined
 * ```
 */
export function permitted(record: Readonly<OwnershipRecord>, event: Event): Allowed | undefined {
  const outcome = transitions[record.state][event];
  if (isAllowed(outcome)) return outcome;
  return undefined;
}

function refuse(code: CustodyError["code"], message: string): never {
  throw new CustodyError(code, message);
}

/**
 * Moves `record` as `allowed` (from {@linkcode check}) says. `cause` is kept when the
 * record becomes invalid, for messages and `dump()`; `rule` names what decided it.
 *
 * @example
 * ```ts
 * import { check, commit, type OwnershipRecord } from "./machine.ts";
 * const record: OwnershipRecord = { state: "borrowed" };
 * const allowed = check(record, "callbackReturned", { typeName: "Event", address: 0x40 });
 * commit(record, "callbackReturned", allowed, { event: "callbackReturned", by: "onEvent" }, "invalidate-after-use");
 * console.log(record); // { state: "invalid", cause: { ... }, rule: "invalidate-after-use" }
 * ```
 */
export function commit(record: OwnershipRecord, event: Event, allowed: Allowed, cause: Cause, rule: string = event): void {
  if (allowed.to === "invalid" && record.state !== "invalid") record.cause = cause;
  record.state = allowed.to;
  record.rule = rule;
}
