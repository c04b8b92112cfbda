/**
 * The ownership state machine as data: for every state a wrapper can be in and every event
 * that can happen to it, the next state and what custody must do natively, or the error
 * the event raises. The code enforces this table, the README renders it, and the fuzz
 * model predicts with it, so the three cannot drift apart.
 *
 * A wrapper's state has two dimensions folded into one name: whether JS may use it, and
 * who destroys the native object.
 *
 * | state | usable | who destroys it |
 * | --- | --- | --- |
 * | `owned` | yes | JS: `release()`, `using`, or the garbage collector |
 * | `borrowed` | yes, until native code says otherwise | native code, or whoever owns it |
 * | `child` | yes, while its parent lives | its parent |
 * | `native` | yes, until native code reports it destroyed | native code, which notifies custody |
 * | `invalid` | no: every use throws before any native call | nobody: it is already handled |
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";

/** Every state a wrapper can be in. */
export const states = ["owned", "borrowed", "child", "native", "invalid"] as const;
/** A wrapper's ownership state. */
export type State = typeof states[number];

/** Every event the state machine knows. */
export const events = [
  "use",
  "release",
  "dispose",
  "collect",
  "steal",
  "stealSafe",
  "stealIntoParent",
  "invalidate",
  "adopt",
  "orphan",
  "parentDestroyed",
  "nativeDestroyed",
  "callbackReturned",
  "retain",
  "consume",
  "disown",
] as const;
/** Something that happens to a wrapper. */
export type Event = typeof events[number];

/** What an event means, for docs and error messages. */
export const eventDescriptions: Readonly<Record<Event, string>> = {
  use: "passed to a native call (as `this` or an argument)",
  release: "`release()` called",
  dispose: "`[Symbol.dispose]` called (`using` leaving scope)",
  collect: "the wrapper was garbage collected",
  steal: "passed to a native function that takes ownership",
  stealSafe: "passed to a native function that takes ownership of a type that notifies its destruction",
  stealIntoParent: "passed to a native function that makes it a child of another argument",
  invalidate: "passed to a native function that destroys it",
  adopt: "given a parent",
  orphan: "its parent removed: ownership back to JS",
  parentDestroyed: "its parent was destroyed",
  nativeDestroyed: "native code reported it destroyed",
  callbackReturned: "the callback it was an argument of returned",
  retain: "retained by the callback it was an argument of",
  consume: "consumed: its pointer handed off to a consumer that now destroys it",
  disown: "its destructor cancelled: JS no longer destroys it",
};

/**
 * What custody does natively when a transition happens.
 *
 * - `none`: nothing.
 * - `destroy`: run the native destructor now (and those of the object's registry subtree).
 * - `forget`: the native object is gone or no longer custody's: drop its registry entry
 *   without running its destructor.
 * - `handOver`: native code owns it now and will report its destruction: keep the registry
 *   entry, remove its destructor.
 * - `link`: record the new parent in the registry; the parent destroys it.
 * - `unlink`: remove the parent in the registry; JS owns it again, with its destructor.
 */
export type Effect = "none" | "destroy" | "forget" | "handOver" | "link" | "unlink";

/**
 * Events that give the object away for good: its registry entry ends while the object lives
 * on with a new owner (native code, a consumer). While a keep-alive holds the object they are
 * refused with `KEPT_ALIVE`, before native code runs, wherever the table allows them: custody
 * could not keep its promise to the nurse, since the new owner may destroy the object, or
 * hand it back under a new entry that knows nothing of the keep-alive.
 */
export const refusedWhileKeptAlive: ReadonlySet<Event> = new Set<Event>(["steal", "consume"]);

/** An allowed event: where it leads and what it does. */
export interface Allowed {
  readonly to: State;
  readonly effect: Effect;
  /** False for pairs no sequence of real events can produce; they are never counted as coverage holes. */
  readonly reachable?: false;
}

/** A refused event: the error it raises, before any native code runs. */
export interface Refused {
  readonly error: ErrorCode;
  /** A more precise error when the wrapper was invalidated by one of these events. */
  readonly errorAfter?: Partial<Record<Event, ErrorCode>>;
}

/** One cell of the table. */
export type Outcome = Allowed | Refused;

const stay = (state: State): Allowed => ({ to: state, effect: "none" });
const never = (state: State): Allowed => ({ to: state, effect: "none", reachable: false });
const go = (to: State, effect: Effect): Allowed => ({ to, effect });
const refuse = (error: ErrorCode, errorAfter?: Partial<Record<Event, ErrorCode>>): Refused =>
  errorAfter === undefined ? { error } : { error, errorAfter };

const releasedBefore: Partial<Record<Event, ErrorCode>> = {
  release: "DOUBLE_RELEASE",
  dispose: "DOUBLE_RELEASE",
  collect: "DOUBLE_RELEASE",
};

/** The transition table: `transitions[state][event]`. */
export const transitions: Readonly<Record<State, Readonly<Record<Event, Outcome>>>> = {
  owned: {
    use: stay("owned"),
    release: go("invalid", "destroy"),
    dispose: go("invalid", "destroy"),
    collect: go("invalid", "destroy"),
    steal: go("invalid", "forget"),
    stealSafe: go("native", "handOver"),
    stealIntoParent: go("child", "link"),
    invalidate: go("invalid", "forget"),
    adopt: go("child", "link"),
    orphan: stay("owned"),
    parentDestroyed: never("owned"),
    nativeDestroyed: go("invalid", "forget"),
    callbackReturned: never("owned"),
    retain: never("owned"),
    consume: go("invalid", "forget"),
    disown: go("borrowed", "handOver"),
  },
  borrowed: {
    use: stay("borrowed"),
    release: refuse("NOT_OWNER"),
    dispose: stay("borrowed"),
    collect: go("invalid", "forget"),
    steal: refuse("NOT_OWNER"),
    stealSafe: go("native", "handOver"),
    stealIntoParent: refuse("NOT_OWNER"),
    invalidate: go("invalid", "forget"),
    adopt: go("child", "link"),
    orphan: stay("borrowed"),
    parentDestroyed: never("borrowed"),
    nativeDestroyed: go("invalid", "forget"),
    callbackReturned: go("invalid", "forget"),
    retain: stay("borrowed"),
    consume: go("invalid", "forget"),
    disown: refuse("NOT_OWNER"),
  },
  child: {
    use: stay("child"),
    release: refuse("NOT_OWNER"),
    dispose: stay("child"),
    collect: stay("child"),
    steal: refuse("NOT_OWNER"),
    stealSafe: refuse("NOT_OWNER"),
    stealIntoParent: go("child", "link"),
    invalidate: go("invalid", "forget"),
    adopt: go("child", "link"),
    orphan: go("owned", "unlink"),
    parentDestroyed: go("invalid", "none"),
    nativeDestroyed: go("invalid", "forget"),
    callbackReturned: never("child"),
    retain: never("child"),
    consume: refuse("NOT_OWNER"),
    disown: refuse("NOT_OWNER"),
  },
  native: {
    use: stay("native"),
    release: refuse("NOT_OWNER"),
    dispose: stay("native"),
    collect: stay("native"),
    steal: refuse("NOT_OWNER"),
    stealSafe: stay("native"),
    stealIntoParent: refuse("NOT_OWNER"),
    invalidate: go("invalid", "forget"),
    adopt: refuse("NOT_OWNER"),
    orphan: stay("native"),
    parentDestroyed: never("native"),
    nativeDestroyed: go("invalid", "forget"),
    callbackReturned: never("native"),
    retain: never("native"),
    consume: refuse("NOT_OWNER"),
    disown: refuse("NOT_OWNER"),
  },
  invalid: {
    use: refuse("INVALID_OBJECT"),
    release: refuse("INVALID_OBJECT", releasedBefore),
    dispose: stay("invalid"),
    collect: stay("invalid"),
    steal: refuse("INVALID_OBJECT"),
    stealSafe: refuse("INVALID_OBJECT"),
    stealIntoParent: refuse("INVALID_OBJECT"),
    invalidate: refuse("INVALID_OBJECT"),
    adopt: refuse("INVALID_OBJECT"),
    orphan: refuse("INVALID_OBJECT"),
    parentDestroyed: stay("invalid"),
    nativeDestroyed: stay("invalid"),
    callbackReturned: stay("invalid"),
    retain: refuse("INVALID_OBJECT"),
    consume: refuse("INVALID_OBJECT"),
    disown: refuse("INVALID_OBJECT"),
  },
};

/** Whether an outcome allows the event. */
export function isAllowed(outcome: Outcome): outcome is Allowed {
  return "to" in outcome;
}
