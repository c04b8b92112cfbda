/**
 * Native code destroying objects behind JS's back and telling custody: close_hidden from the
 * JS thread, and from a native thread (then joined); a widget closed on its own, whoever
 * owned it (JS, a window, or native code after a safe steal).
 *
 * @module
 */
import fc from "fast-check";
import { command, expectOutcome, fail, type Family, index, pick, refusalOf, step } from "../command.ts";
import { lib } from "../system.ts";
import { anyUsable, usable } from "./parents.ts";

const closeHidden = command("closeHidden", fc.tuple(index, fc.boolean()), ([i, onThread]) =>
  step("closeHidden", `window ${i}, ${onThread ? "native thread" : "JS thread"}`, (m) => anyUsable(m, "Window"), (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!;
    const code = refusalOf(model, [[window, "use"]]);
    const w = real.get<"Window">(window.id);
    const result = expectOutcome(label, code, () => {
      if (!onThread) return Number(lib.wg_window_close_hidden(w));
      const status = lib.wg_window_close_hidden_async(w);
      lib.wg_join_threads();
      return status;
    });
    if (code !== undefined) return;
    const hidden = window.native.children.filter((c) => !c.visible);
    const expected = onThread ? 0 : hidden.length;
    if (result !== expected) fail("outcome", label, "RESULT", `close_hidden returned ${result}, the model expects ${expected}`);
    for (const child of hidden) model.destroyNotified(child);
  })
);

const closeWidget = command("closeWidget", index, (j) =>
  step("closeWidget", `widget ${j}`, (m) => anyUsable(m, "Widget"), (model, real, label) => {
    const widget = pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, [[widget, "use"]]);
    const status = expectOutcome(label, code, () => lib.wg_widget_close(real.get<"Widget">(widget.id)));
    if (code !== undefined) return;
    if (status !== 0) fail("outcome", label, "STATUS", `close returned ${status}`);
    model.destroyNotified(widget.native);
  })
);

/** The native family. */
export const family: Family = { name: "native", commands: [closeHidden, closeWidget] };
