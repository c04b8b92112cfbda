// The example widget library and custody's native core in one process, under both runtimes:
// one tracked allocator, one registry, notifications from native code (also from a native
// thread) reaching the handles JS holds.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, registry, stats } from "../mod.ts";
import { widgets } from "./widgets_library.ts";

describe("example widget library", () => {
  it("allocates through custody's tracked allocator under the tag widgets", () => {
    const start = allocator.nextSequence();
    const window = widgets.wg_window_new(0, 0);
    const blocks = allocator.liveBlocks(start);
    assert.deepEqual(blocks.map((b) => [b.address, b.tag]), [[window, "widgets"]]);
    widgets.wg_window_destroy(window);
    assert.deepEqual(allocator.liveBlocks(start), []);
  });

  it("destroys children with their window and leaks nothing", () => {
    const live = widgets.wg_live_objects();
    const before = stats().liveCount;
    const window = widgets.wg_window_new(0, 0);
    for (let i = 0; i < 3; i++) widgets.wg_window_add_child(window, widgets.wg_button_new(0, 0));
    assert.equal(widgets.wg_window_child_count(window), 3);
    widgets.wg_window_destroy(window);
    assert.equal(widgets.wg_live_objects(), live);
    assert.equal(stats().liveCount, before);
  });

  it("tells custody about objects it destroys behind JS's back", () => {
    const window = widgets.wg_window_new(0, 0);
    const hidden = widgets.wg_button_new(0, 0);
    widgets.wg_window_add_child(window, hidden);
    widgets.wg_widget_set_visible(hidden, 0);
    const handle = registry.create(hidden, { typeName: registry.typeName("Widget") });
    assert.equal(widgets.wg_window_close_hidden(window), 1);
    assert.ok(!registry.isLive(handle), "native destroyed it and said so");
    widgets.wg_window_destroy(window);
  });

  it("does so from a native thread too", () => {
    const notifiedBefore = stats().capsulesNotified;
    const window = widgets.wg_window_new(0, 0);
    const hidden = widgets.wg_button_new(0, 0);
    widgets.wg_window_add_child(window, hidden);
    widgets.wg_widget_set_visible(hidden, 0);
    const handle = registry.create(hidden);
    assert.equal(widgets.wg_window_close_hidden_async(window), 0);
    widgets.wg_join_threads();
    assert.ok(!registry.isLive(handle));
    assert.equal(stats().capsulesNotified, notifiedBefore + 1);
    widgets.wg_window_destroy(window);
  });

  it("refuses and counts a call with a dead object", () => {
    const dead = widgets.wg_dead_calls();
    const window = widgets.wg_window_new(0, 0);
    widgets.wg_window_destroy(window);
    assert.equal(widgets.wg_window_child_count(window), -1);
    assert.equal(widgets.wg_dead_calls(), dead + 1);
  });

  it("runs its slow operation as a promise", async () => {
    const window = widgets.wg_window_new(0, 0);
    widgets.wg_window_add_child(window, widgets.wg_button_new(0, 0));
    assert.equal(await widgets.wg_window_layout(window), 1);
    widgets.wg_window_destroy(window);
  });
});
