/**
 * custody's ownership demo, the same under Deno and Bun (`make demo` runs both): the example
 * widget library used through declarative bindings. A window tree is built, a widget is
 * stolen into it and detached again, a parent is destroyed, a dead child is used (a clear
 * error, no native call), callbacks run; it ends with dump(), stats() and a leak check.
 *
 * @module
 */
import { allocator, CustodyError, dump, leaks, stats, violationCount } from "../mod.ts";
import { widgetsLibrary } from "./widgets.ts";

const w = widgetsLibrary.functions;
const start = allocator.nextSequence();
const deadCalls = w.wg_dead_calls();

function attempt(what: string, action: () => unknown) {
  try {
    action();
    console.log(`  ${what}: ok`);
  } catch (error) {
    if (!(error instanceof CustodyError)) throw error;
    console.log(`  ${what}: ${error.code}: ${error.message}`);
  }
}

console.log("1. A window owns the widgets stolen into it");
const main = w.wg_window_new(0, 0)!;
const ok = w.wg_button_new(0, 0)!;
const cancel = w.wg_button_new(0, 0)!;
w.wg_window_add_child(main, ok);
w.wg_window_add_child(main, cancel);
console.log(`  ok is ${ok.state}, the window has ${w.wg_window_child_count(main)} children`);
attempt("ok.release()", () => ok.release());

console.log("2. Detach gives ownership back to JS");
w.wg_window_detach(main, cancel);
console.log(`  cancel is ${cancel.state}`);

console.log("3. Callbacks: the event argument dies when the callback returns");
let kept: unknown = null;
w.wg_window_on_event(main, (event) => {
  kept = event;
  console.log(`  event of kind ${w.wg_event_kind(event!)} for the window`);
  return 0;
}, 0);
w.wg_window_emit(main, 7, null);
attempt("using the event after the callback", () => w.wg_event_kind(kept as never));

console.log("4. Destroying the parent invalidates its children");
console.log("  dump(ok) before:", dump(ok));
main.release();
attempt("using ok, a child of the destroyed window", () => w.wg_widget_set_visible(ok, 0));
console.log("  dump(ok) after:", dump(ok));
cancel.release();

const s = stats();
const report = leaks(start);
console.log(
  `\nstats: ${violationCount()} allocator violations, ${s.capsulesLive} capsules live, ` +
    `${s.destructorsRun} destructors run, ${w.wg_dead_calls() - deadCalls} calls reached native code with a dead object`,
);
console.log(`leaks: ${report.objects.length} objects, ${report.blocks.length} blocks, ${report.callbacks} callbacks`);
if (violationCount() > 0 || report.objects.length > 0 || report.blocks.length > 0 || w.wg_dead_calls() !== deadCalls) {
  throw new Error("the demo leaked or misused memory");
}
