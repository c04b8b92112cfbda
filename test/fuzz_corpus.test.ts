/**
 * Replays the committed regression corpus of the fuzz campaign (fuzz/regression/): every
 * failure the campaign ever found, by the commands it ran, must now pass.
 */
import { readdirSync, readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { replay } from "../fuzz/campaign.ts";
import { formatEntry, notReplayable, parseEntry } from "../fuzz/corpus.ts";
import { rebuild } from "../fuzz/command.ts";
import { Model } from "../fuzz/model.ts";
import { families } from "../fuzz/run.ts";

const folder = new URL("../fuzz/regression/", import.meta.url);

describe("fuzz regression corpus", () => {
  const files = readdirSync(folder).filter((f) => f.endsWith(".json")).sort();
  it("has entries", () => assert.ok(files.length > 0));
  for (const file of files) {
    it(`replays ${file} by its commands`, async () => {
      const entry = parseEntry(readFileSync(new URL(file, folder), "utf8"));
      // A seed and shrink path stop meaning the same commands when a family changes: every
      // committed entry must carry its commands.
      assert.ok(entry.commands !== undefined && entry.commands.length > 0, `${file} saved no commands`);
      const still = await replay(entry);
      assert.equal(still, undefined, still?.message);
    });
  }

  it("reports the failure a replay's commands show", async () => {
    // A model that expects one object too many stands in for a custody bug.
    const liveNatives = Model.prototype.liveNatives;
    Model.prototype.liveNatives = function (this: Model) {
      return liveNatives.call(this) + 1;
    };
    try {
      const still = await replay({ commands: [["newWindow", null], ["childCount", 3]], seed: 0, path: "" });
      assert.equal(still?.signature, "live-objects:newWindow:LIVE_OBJECTS");
      // What ran: the run ends at the first failure.
      assert.equal(still?.counterexample, "newWindow()");
    } finally {
      Model.prototype.liveNatives = liveNatives;
    }
  });

  it("skips hung and crashed workers' entries, which saved no run, and says which seed reruns them", () => {
    const base = { seed: 1234, path: "", counterexample: "", runtime: "r", message: "m" };
    for (const code of ["HANG", "CRASH"]) {
      const reason = notReplayable({ ...base, signature: `w:worker:${code}`, code });
      assert.ok(reason?.includes("--seed=1234"), reason);
    }
    assert.equal(notReplayable({ ...base, signature: "live-objects:newWindow:LIVE_OBJECTS", code: "LIVE_OBJECTS", commands: [["newWindow", null]] }), undefined);
  });

  it("rebuilds generated commands exactly from their saved form", () => {
    const every = fc.oneof(...families.flatMap((family) => family.commands));
    for (const generated of fc.sample(fc.array(every, { minLength: 50, maxLength: 200 }), { seed: 42, numRuns: 10 })) {
      const recipes = generated.map((step) => step.recipe);
      assert.ok(recipes.every((recipe) => recipe !== undefined), "a command without a recipe");
      const entry = { signature: "s", seed: 0, path: "", counterexample: "", code: "c", runtime: "r", message: "m", commands: recipes.map((recipe) => recipe!) };
      const again = parseEntry(formatEntry(entry)).commands!.map(rebuild);
      assert.deepEqual(again.map(String), generated.map(String));
    }
  });
});
