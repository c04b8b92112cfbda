// The ownership transition table and its checker, identically under deno test and bun test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CustodyError } from "../mod.ts";
import { check, commit, type OwnershipRecord } from "../src/ownership/machine.ts";
import { withSection } from "../src/ownership/render.ts";
import { type Event, events, isAllowed, type State, states, transitions } from "../src/ownership/transitions.ts";

const subject = { typeName: "Window", address: 0x1000 };
const valid = states.filter((s) => s !== "invalid");

function allowedPairs() {
  return states.flatMap((state) =>
    events.flatMap((event) => {
      const outcome = transitions[state][event];
      return isAllowed(outcome) ? [{ state, event, outcome }] : [];
    })
  );
}

describe("ownership transition table", () => {
  it("defines every state and event pair exactly once", () => {
    assert.deepEqual(Object.keys(transitions).sort(), [...states].sort());
    for (const state of states) assert.deepEqual(Object.keys(transitions[state]).sort(), [...events].sort(), state);
  });

  it("runs a destructor only for objects JS owns", () => {
    for (const { state, event, outcome } of allowedPairs()) {
      if (outcome.effect === "destroy") assert.equal(state, "owned", `${state} + ${event}`);
    }
  });

  it("never lets an owned object become invalid without destroying or forgetting it", () => {
    for (const { state, event, outcome } of allowedPairs()) {
      if (state === "owned" && outcome.to === "invalid") {
        assert.ok(["destroy", "forget"].includes(outcome.effect), `${event} would leak`);
      }
    }
  });

  it("keeps invalid absorbing: nothing leads out of it, every use throws", () => {
    for (const event of events) {
      const outcome = transitions.invalid[event];
      if (isAllowed(outcome)) {
        assert.equal(outcome.to, "invalid", event);
        assert.equal(outcome.effect, "none", event);
      }
    }
    assert.ok(!isAllowed(transitions.invalid.use));
  });

  it("refuses release for every state JS does not own, and never refuses dispose", () => {
    for (const state of valid) assert.equal(isAllowed(transitions[state].release), state === "owned", state);
    for (const state of states) assert.ok(isAllowed(transitions[state].dispose), state);
  });

  it("reaches every state from creation", () => {
    const seen = new Set<State>(["owned", "borrowed"]);
    for (let changed = true; changed;) {
      changed = false;
      for (const { state, outcome } of allowedPairs()) {
        if (seen.has(state) && !seen.has(outcome.to)) {
          seen.add(outcome.to);
          changed = true;
        }
      }
    }
    assert.deepEqual([...seen].sort(), [...states].sort());
  });
});

describe("ownership checker", () => {
  it("moves a record and remembers what invalidated it", () => {
    const record: OwnershipRecord = { state: "owned" };
    commit(record, "adopt", check(record, "adopt", subject), { event: "adopt", by: "window.addChild" });
    assert.equal(record.state, "child");
    commit(record, "parentDestroyed", check(record, "parentDestroyed", subject), { event: "parentDestroyed", by: "parent" }, "cascade");
    assert.deepEqual(record, { state: "invalid", cause: { event: "parentDestroyed", by: "parent" }, rule: "cascade" });
  });

  it("throws the table's code with the type, the state and the cause in the message", () => {
    const borrowed: OwnershipRecord = { state: "borrowed" };
    assert.throws(() => check(borrowed, "release", subject), (e: unknown) =>
      e instanceof CustodyError && e.code === "NOT_OWNER" &&
      e.message === "Cannot release Window at 0x1000: it is borrowed: native code owns it");

    const stolen: OwnershipRecord = { state: "owned" };
    commit(stolen, "steal", check(stolen, "steal", subject), { event: "steal", by: "app.adopt(window)" });
    assert.throws(() => check(stolen, "use", subject), (e: unknown) =>
      e instanceof CustodyError && e.code === "INVALID_OBJECT" &&
      e.message === "Cannot use Window at 0x1000: it is invalid since passed to a native function that takes ownership (app.adopt(window))");
  });

  it("says DOUBLE_RELEASE for a release after a release, INVALID_OBJECT after anything else", () => {
    for (const [first, code] of [["release", "DOUBLE_RELEASE"], ["dispose", "DOUBLE_RELEASE"], ["nativeDestroyed", "INVALID_OBJECT"]] as const) {
      const record: OwnershipRecord = { state: "owned" };
      commit(record, first, check(record, first, subject), { event: first, by: "test" });
      assert.throws(() => check(record, "release", subject), (e: unknown) => e instanceof CustodyError && e.code === code, first);
    }
  });

  it("checks without changing anything, so a refused call leaves every record as it was", () => {
    const records: OwnershipRecord[] = [{ state: "owned" }, { state: "borrowed" }];
    const before = structuredClone(records);
    const steals: Event[] = ["steal", "steal"];
    assert.throws(() => records.map((r, i) => check(r, steals[i], subject)));
    assert.deepEqual(records, before);
  });
});

describe("README", () => {
  it("shows the table as it is in the code", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    assert.equal(readme, withSection(readme), "run scripts/render-ownership.ts");
  });
});
