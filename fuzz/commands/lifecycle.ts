/**
 * Creating objects (own), using them, and every way JS lets go of one: release, dispose,
 * and dropping the last reference followed by a forced garbage collection.
 *
 * @module
 */
import fc from "fast-check";
import type { NativeObject } from "../../src/ownership/wrapper.ts";
import { command, expectOutcome, fail, type Family, heldWrappers, index, pick, refusalOf, step } from "../command.ts";
import type { Model, WrapperModel } from "../model.ts";
import { collect, lib, type Real } from "../system.ts";
import { releaseReport } from "./memory.ts";
import { anyUsable, usable } from "./parents.ts";

function created(model: Model, real: Real, kind: string, object: NativeObject | null, label: string): void {
  if (object === null) fail("outcome", label, "NULL", "a factory returned null");
  model.addWrapper(model.addNative(kind), "owned");
  real.add(object);
}

const newWindow = command("newWindow", fc.constant(null), () =>
  step("newWindow", "", () => true, (model, real, label) => created(model, real, "Window", lib.wg_window_new(0, 0), label))
);

const newWidget = command("newWidget", fc.boolean(), (button) =>
  step("newWidget", button ? "button" : "label", () => true, (model, real, label) =>
    created(model, real, "Widget", button ? lib.wg_button_new(0, 0) : lib.wg_label_new(0, 0), label))
);

const clone = command("clone", index, (n) =>
  step("clone", `widget ${n}`, (m) => anyUsable(m, "Widget"), (model, real, label) => {
    const source = pick(usable(model, "Widget"), n)!;
    const code = refusalOf(model, [[source, "use"]]);
    const copy = expectOutcome(label, code, () => lib.wg_widget_clone(real.get<"Widget">(source.id)));
    if (code !== undefined) return;
    created(model, real, "Widget", copy, label);
    model.natives[model.natives.length - 1].visible = source.native.visible;
  })
);

const setVisible = command("setVisible", fc.tuple(index, fc.boolean()), ([n, visible]) =>
  step("setVisible", `widget ${n}, ${visible}`, (m) => anyUsable(m, "Widget"), (model, real, label) => {
    const widget = pick(usable(model, "Widget"), n)!;
    const code = refusalOf(model, [[widget, "use"]]);
    const status = expectOutcome(label, code, () => lib.wg_widget_set_visible(real.get<"Widget">(widget.id), visible ? 1 : 0));
    if (code !== undefined) return;
    if (status !== 0) fail("outcome", label, "STATUS", `set_visible returned ${status}`);
    widget.native.visible = visible;
  })
);

/** release() or [Symbol.dispose]() on any wrapper JS holds, valid or not. */
function letGo(event: "release" | "dispose") {
  return command(event, index, (n) =>
    step(event, `object ${n}`, (m) => anyUsable(m), (model, real, label) => {
      const wrapper = pick(usable(model), n)!;
      const reported = event === "release" ? releaseReport(model, wrapper) : undefined;
      const prediction = reported === undefined ? model.apply(wrapper, event) : undefined;
      const code = reported ?? (prediction!.allowed ? undefined : prediction!.code);
      const object = real.get(wrapper.id);
      expectOutcome(label, code, () => event === "release" ? object.release() : object[Symbol.dispose]());
    })
  );
}

const drop = command("drop", index, (n) =>
  step("drop", `object ${n}`, (m) => heldWrappers(m as Model).length > 0, (model, real) => {
    const wrapper = pick(heldWrappers(model), n)!;
    model.hold(wrapper, false);
    real.drop(wrapper.id);
  })
);

/** The wrappers dropped and not collected yet. */
export function dropped(model: Readonly<Model>): WrapperModel[] {
  return model.wrappers.filter((w) => !w.held && !w.collected);
}

/** Holds another object alive: a renderer keeps its source, a view its memory. */
const holdsAnother = (wrapper: WrapperModel) => wrapper.keeps !== undefined || wrapper.native.viewOf !== undefined;

/**
 * Forces a collection, then applies `collect` to every dropped wrapper the runtime collected
 * (renderers and views first: their keep-alives go with them). A wrapper something keeps alive
 * must survive: a renderer's source, a view's memory.
 */
export async function collectDropped(model: Model, real: Real, label: string): Promise<void> {
  await collect();
  model.collections++;
  const gone = dropped(model).filter((w) => real.collected(w.id));
  gone.sort((a, b) => Number(holdsAnother(b)) - Number(holdsAnother(a)));
  for (const wrapper of gone) {
    const holder = wrapper.native.views.find((view) => view.entry !== undefined);
    if (holder !== undefined) fail("keep-alive", label, "COLLECTED", `${wrapper.native.kind} #${wrapper.native.id} was collected while view #${holder.id} holds it`);
    model.apply(wrapper, "collect");
    wrapper.collected = true;
    real.forget(wrapper.id);
  }
  for (const wrapper of gone) {
    if (wrapper.state === "invalid") continue;
    for (const nurse of wrapper.native.keptBy) {
      if (nurse.state !== "invalid") fail("keep-alive", label, "COLLECTED", `${wrapper.native.kind} #${wrapper.native.id} was collected while a renderer keeps it alive`);
    }
  }
}

const gc = command("dropThenGc", fc.constant(null), () =>
  // A forced collection costs milliseconds: once per run keeps commands cheap.
  step("dropThenGc", "", (m) => m.collections === 0 && dropped(m).length > 0, (model, real, label) => collectDropped(model, real, label))
);

/** The lifecycle family. */
export const family: Family = {
  name: "lifecycle",
  commands: [newWindow, newWidget, newWidget, clone, setVisible, letGo("release"), letGo("dispose"), drop, gc],
};
