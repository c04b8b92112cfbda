/**
 * Windows and their children: a window steals a widget (add), gives it back (detach),
 * destroys it (destroy_child), hands it out as a child result (child_at); a widget destroys
 * itself (invalidate). Re-parenting moves a child between windows; a window's destruction
 * cascades to its children.
 *
 * @module
 */
import fc from "fast-check";
import { command, expectOutcome, fail, type Family, guardable, heldWrappers, identify, index, pick, refusalOf, step } from "../command.ts";
import type { Model } from "../model.ts";
import { lib } from "../system.ts";

/** Held, guardable wrappers of `kind` (of every kind when undefined). */
export const usable = (model: Readonly<Model>, kind?: string) => heldWrappers(model as Model, kind).filter(guardable);
/** Whether {@linkcode usable} has any: what preconditions ask, without building the list. */
export const anyUsable = (model: Readonly<Model>, kind?: string) => heldWrappers(model as Model, kind).some(guardable);
const pair = (m: Readonly<Model>) => anyUsable(m, "Window") && anyUsable(m, "Widget");

const addChild = command("addChild", fc.tuple(index, index), ([i, j]) =>
  step("addChild", `window ${i}, widget ${j}`, pair, (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!, widget = pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, [[window, "use"], [widget, "stealIntoParent"]]);
    const status = expectOutcome(label, code, () => lib.wg_window_add_child(real.get<"Window">(window.id), real.get<"Widget">(widget.id)));
    if (code !== undefined) return;
    if (status !== 0) fail("outcome", label, "STATUS", `add_child returned ${status}`);
    model.link(window.native, widget.native);
    model.apply(widget, "stealIntoParent");
  })
);

/** detach (orphan) or destroy_child (invalidate): succeed only for a child of that window. */
function childCall(name: "detach" | "destroyChild") {
  const event = name === "detach" ? "orphan" as const : "invalidate" as const;
  return command(name, fc.tuple(index, index), ([i, j]) =>
    step(name, `window ${i}, widget ${j}`, pair, (model, real, label) => {
      const window = pick(usable(model, "Window"), i)!, widget = pick(usable(model, "Widget"), j)!;
      const code = refusalOf(model, [[window, "use"], [widget, event]]);
      const w = real.get<"Window">(window.id), x = real.get<"Widget">(widget.id);
      const status = expectOutcome(label, code, () => name === "detach" ? lib.wg_window_detach(w, x) : lib.wg_window_destroy_child(w, x));
      if (code !== undefined) return;
      const isChild = widget.native.parent === window.native;
      if ((status === 0) !== isChild) fail("outcome", label, "STATUS", `${name} returned ${status}, the model expects ${isChild ? "success" : "a failure"}`);
      if (!isChild) return model.count(widget, event);
      model.unlink(widget.native);
      model.apply(widget, event);
      if (name === "destroyChild") model.destroyNative(widget.native);
    })
  );
}

const widgetDestroy = command("widgetDestroy", index, (j) =>
  step("widgetDestroy", `widget ${j}`, (m) => anyUsable(m, "Widget"), (model, real, label) => {
    const widget = pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, [[widget, "invalidate"]]);
    expectOutcome(label, code, () => lib.wg_widget_destroy(real.get<"Widget">(widget.id)));
    if (code !== undefined) return;
    model.unlink(widget.native);
    model.apply(widget, "invalidate");
    model.destroyNative(widget.native);
  })
);

const childAt = command("childAt", fc.tuple(index, fc.nat(4)), ([i, at]) =>
  step("childAt", `window ${i}, ${at}`, (m) => anyUsable(m, "Window"), (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!;
    const code = refusalOf(model, [[window, "use"]]);
    const object = expectOutcome(label, code, () => lib.wg_window_child_at(real.get<"Window">(window.id), at));
    if (code !== undefined) return;
    const native = window.native.children[at];
    if ((object === null) !== (native === undefined)) fail("outcome", label, "RESULT", `child_at returned ${object === null ? "null" : "a child"}`);
    if (native === undefined) return;
    const wrapper = identify(model, real, native, object, label);
    if (wrapper.state !== "child") model.apply(wrapper, "adopt");
    if (object!.state !== wrapper.state) fail("state", label, "STATE", `the child is ${object!.state}, the model says ${wrapper.state}`);
  })
);

/**
 * adopt: the window takes the widget, and the child result says so. Only for widgets JS owns,
 * borrows or sees as a child: a binding that moved a natively owned object would lie.
 */
const adoptable = (model: Readonly<Model>) => usable(model, "Widget").filter((w) => w.state !== "native");
const adopt = command("adopt", fc.tuple(index, index), ([i, j]) =>
  step("adopt", `window ${i}, widget ${j}`, (m) => anyUsable(m, "Window") && adoptable(m).length > 0, (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!, widget = pick(adoptable(model), j)!;
    const code = refusalOf(model, [[window, "use"], [widget, "use"]]);
    const object = expectOutcome(label, code, () => lib.wg_window_adopt(real.get<"Window">(window.id), real.get<"Widget">(widget.id)));
    if (code !== undefined) return;
    if (object === null) fail("outcome", label, "RESULT", "adopt returned null");
    const moved = widget.native.parent !== window.native;
    model.link(window.native, widget.native);
    const wrapper = identify(model, real, widget.native, object, label);
    if (wrapper.state !== "child" || moved) model.apply(wrapper, "adopt");
    if (object!.state !== wrapper.state) fail("state", label, "STATE", `the widget is ${object!.state}, the model says ${wrapper.state}`);
  })
);

const childCount = command("childCount", index, (i) =>
  step("childCount", `window ${i}`, (m) => anyUsable(m, "Window"), (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!;
    const code = refusalOf(model, [[window, "use"]]);
    const count = expectOutcome(label, code, () => lib.wg_window_child_count(real.get<"Window">(window.id)));
    if (code === undefined && Number(count) !== window.native.children.length) {
      fail("outcome", label, "RESULT", `child_count returned ${count}, the model has ${window.native.children.length}`);
    }
  })
);

/** The parents family. */
export const family: Family = {
  name: "parents",
  commands: [addChild, addChild, childCall("detach"), childCall("destroyChild"), widgetDestroy, childAt, childCount, adopt],
};
