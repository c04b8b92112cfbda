/**
 * Replays the committed regression corpus of the fuzz campaign (fuzz/regression/): every
 * failure the campaign ever found, by seed and shrink path, must now pass.
 */
import { readdirSync, readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { replay } from "../fuzz/campaign.ts";

const folder = new URL("../fuzz/regression/", import.meta.url);

describe("fuzz regression corpus", () => {
  const files = readdirSync(folder).filter((f) => f.endsWith(".json")).sort();
  it("has entries", () => assert.ok(files.length > 0));
  for (const file of files) {
    it(`replays ${file}`, async () => {
      const entry = JSON.parse(readFileSync(new URL(file, folder), "utf8"));
      const still = await replay(entry);
      assert.equal(still, undefined, still?.message);
    });
  }
});
