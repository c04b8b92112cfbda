/**
 * Steals in each variant: `always` and `onSuccess` (the window takes the widget and custody
 * forgets it), and `safe` (native code owns it and will report its destruction).
 *
 * @module
 */
import fc from "fast-check";
import { command, expectOutcome, fail, type Family, index, pick, refusalOf, step } from "../command.ts";
import { lib } from "../system.ts";
import { anyUsable, usable } from "./parents.ts";

const addChildStealing = command("addChildStealing", fc.tuple(index, index, fc.boolean()), ([i, j, always]) =>
  step("addChildStealing", `window ${i}, widget ${j}, ${always ? "always" : "onSuccess"}`, (m) => anyUsable(m, "Window") && anyUsable(m, "Widget"), (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!, widget = pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, [[window, "use"], [widget, "steal"]]);
    const call = always ? lib.add_child_stealing : lib.add_child_stealing_on_success;
    const status = expectOutcome(label, code, () => call(real.get<"Window">(window.id), real.get<"Widget">(widget.id)));
    if (code !== undefined) return;
    if (status !== 0) fail("outcome", label, "STATUS", `add_child returned ${status}`);
    model.link(window.native, widget.native);
    model.apply(widget, "steal");
  })
);

const giveAwaySafely = command("giveAwaySafely", fc.tuple(index, fc.boolean()), ([j, visible]) =>
  step("giveAwaySafely", `widget ${j}, ${visible}`, (m) => anyUsable(m, "Widget"), (model, real, label) => {
    const widget = pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, [[widget, "stealSafe"]]);
    const status = expectOutcome(label, code, () => lib.give_widget_away_safely(real.get<"Widget">(widget.id), visible ? 1 : 0));
    if (code !== undefined) return;
    if (status !== 0) fail("outcome", label, "STATUS", `set_visible returned ${status}`);
    widget.native.visible = visible;
    model.apply(widget, "stealSafe");
  })
);

/** The steal family. */
export const family: Family = { name: "steal", commands: [addChildStealing, giveAwaySafely] };
