// Leak reports from the native tables, and the opt-in report at exit, under both runtimes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, hasLeaks, isValid, leaks } from "../mod.ts";
import { widgetsLibrary } from "../examples/widgets.ts";
import { runModule } from "./helpers.ts";

const w = widgetsLibrary.functions;

const mod = new URL("../mod.ts", import.meta.url).href;
const widgetsModule = new URL("../examples/widgets.ts", import.meta.url).href;

describe("leak reports", () => {
  it("list live objects, blocks and callbacks from the native tables", () => {
    const start = allocator.nextSequence();
    const before = leaks().objects.length;
    const win = w.wg_window_new(0, 0)!;
    w.wg_window_on_event(win, () => 0, 0);
    const report = leaks(start);
    assert.equal(report.objects.length, before + 1);
    assert.ok(report.objects.some((o) => o.type === "Window"));
    assert.equal(report.blocks.length, 1, "the native window's memory");
    assert.equal(report.blocks[0].tag, "widgets");
    assert.ok(report.callbacks >= 1);
    win.release();
    const after = leaks(start);
    assert.equal(after.objects.length, before);
    assert.deepEqual(after.blocks, []);
  });

  it("isValid never throws", () => {
    assert.equal(isValid(undefined), false);
    const win = w.wg_window_new(0, 0)!;
    assert.equal(isValid(win), true);
    win.release();
    assert.equal(isValid(win), false);
  });

  it("a strict report at exit fails a process that leaks, and stays quiet for one that does not", () => {
    const leaky = runModule(`
      import { reportLeaksAtExit } from "${mod}";
      import { widgetsLibrary } from "${widgetsModule}";
      reportLeaksAtExit({ strict: true });
      globalThis.kept = widgetsLibrary.functions.wg_window_new(0, 0);
    `);
    assert.equal(leaky.status, 1, leaky.output);
    assert.match(leaky.output, /custody leak report: 1 objects, 1 blocks/);
    assert.match(leaky.output, /object Window at 0x/);
    const clean = runModule(`
      import { reportLeaksAtExit } from "${mod}";
      import { widgetsLibrary } from "${widgetsModule}";
      reportLeaksAtExit({ strict: true });
      widgetsLibrary.functions.wg_window_new(0, 0).release();
    `);
    assert.equal(clean.status, 0, clean.output);
    assert.doesNotMatch(clean.output, /leak report/);
    assert.ok(!hasLeaks({ objects: [], blocks: [], callbacks: 0 }));
  });
});
