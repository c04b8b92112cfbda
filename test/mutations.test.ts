/**
 * The planted bugs of `make mutants` (fuzz/mutations.ts) stay plantable: each snippet occurs
 * exactly once in its file, so a change that moves the code on fails here, in `make test`,
 * rather than only when the mutants next run.
 */
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mutations } from "../fuzz/mutations.ts";

const root = new URL("../", import.meta.url);

describe("mutants", () => {
  it("every mutation's snippet occurs exactly once in its file, and names are unique", () => {
    const stale = mutations.flatMap((m) => {
      const occurrences = readFileSync(new URL(m.file, root), "utf8").split(m.find).length - 1;
      return occurrences === 1 ? [] : [`${m.name}: ${occurrences} occurrences in ${m.file}`];
    });
    assert.deepEqual(stale, []);
    assert.equal(new Set(mutations.map((m) => m.name)).size, mutations.length);
  });
});
