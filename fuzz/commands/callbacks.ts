/**
 * Callbacks: a window's event callback gets an event that dies when it returns
 * (invalidate-after-use); for_each_child hands each child to a callback, which may use,
 * release, dispose, steal, retain or destroy it.
 *
 * @module
 */
import fc from "fast-check";
import { closeCallback, retain } from "../../src/bindings/callbacks.ts";
import type { Wrapper } from "../../src/bindings/bind.ts";
import { command, expectOutcome, fail, type Family, heldWrappers, identify, index, pick, refusalOf, step } from "../command.ts";
import { isCustodyKind, type Model, type WrapperModel } from "../model.ts";
import { lib, type Real } from "../system.ts";
import { anyUsable, usable } from "./parents.ts";

const onEvent = command("onEvent", index, (i) =>
  step("onEvent", `window ${i}`, (m) => anyUsable(m, "Window"), (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!;
    const code = refusalOf(model, [[window, "use"]]);
    const status = expectOutcome(label, code, () =>
      lib.wg_window_on_event(real.get<"Window">(window.id), (event) => {
        const seen = { event, target: lib.wg_event_target(event!), kind: lib.wg_event_kind(event!) };
        lastEvent.set(real, seen);
        return 7;
      }, 0));
    if (code !== undefined) return;
    if (status !== 0) fail("outcome", label, "STATUS", `on_event returned ${status}`);
    window.native.hasCallback = true;
  })
);

const lastEvent = new WeakMap<Real, { event: Wrapper<"Event"> | null; target: Wrapper<"Widget"> | null; kind: number | bigint }>();

const emit = command("emit", fc.tuple(index, fc.option(index, { nil: undefined }), fc.nat(9)), ([i, j, kind]) =>
  step("emit", `window ${i}, ${j === undefined ? "null" : `widget ${j}`}, ${kind}`, (m) => anyUsable(m, "Window") && (j === undefined || anyUsable(m, "Widget")), (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!;
    const target = j === undefined ? undefined : pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, target === undefined ? [[window, "use"]] : [[window, "use"], [target, "use"]]);
    lastEvent.delete(real);
    const result = expectOutcome(label, code, () => lib.wg_window_emit(real.get<"Window">(window.id), kind, target === undefined ? null : real.get<"Widget">(target.id)));
    if (code !== undefined) return;
    const seen = lastEvent.get(real);
    if (!window.native.hasCallback) {
      if (result !== 0 || seen !== undefined) fail("outcome", label, "CALLBACK", "a window without a callback called one");
      return;
    }
    if (seen === undefined || result !== 7) return fail("outcome", label, "CALLBACK", `the callback did not run (emit returned ${result})`);
    if (Number(seen.kind) !== kind) fail("outcome", label, "RESULT", `the event's kind is ${seen.kind}`);
    const expectedTarget = target === undefined ? null : real.held[target.id];
    if (seen.target !== expectedTarget) fail("identity", label, "IDENTITY", "the event's target is not the wrapper JS holds");
    const event = model.addWrapper(model.addNative("Event"), "borrowed");
    model.count(event, "use");
    model.apply(event, "callbackReturned");
    model.destroyNative(event.native);
    real.add(seen.event!);
    if (seen.event!.state !== "invalid") fail("state", label, "STATE", `the event is ${seen.event!.state} after its callback returned`);
  })
);

const actions = ["none", "use", "release", "dispose", "steal", "retainDestroy", "safeDestroy", "destroy"] as const;
type Action = typeof actions[number];

/** What the callback does with one child, predicted and checked. */
function act(model: Model, label: string, wrapper: WrapperModel, object: Wrapper<"Widget">, action: Action, window: Wrapper<"Window">): void {
  switch (action) {
    case "none":
      return;
    case "use": {
      refusalOf(model, [[wrapper, "use"]]);
      expectOutcome(label, undefined, () => lib.wg_widget_set_visible(object, wrapper.native.visible ? 1 : 0));
      return;
    }
    case "release":
    case "dispose": {
      const p = model.apply(wrapper, action);
      expectOutcome(label, p.allowed ? undefined : p.code, () => action === "release" ? object.release() : object[Symbol.dispose]());
      return;
    }
    case "steal": {
      const code = refusalOf(model, [[wrapper, "steal"]]);
      expectOutcome(label, code ?? "NONE" as never, () => lib.add_child_stealing(window, object));
      return;
    }
    case "retainDestroy":
    case "safeDestroy": {
      if (action === "retainDestroy") {
        const p = model.apply(wrapper, "retain");
        expectOutcome(label, p.allowed ? undefined : p.code, () => retain(object));
      } else {
        const code = refusalOf(model, [[wrapper, "stealSafe"]]);
        expectOutcome(label, code, () => lib.give_widget_away_safely(object, wrapper.native.visible ? 1 : 0));
        if (code === undefined) model.apply(wrapper, "stealSafe");
      }
      destroy(model, label, wrapper, object);
      return;
    }
    case "destroy":
      destroy(model, label, wrapper, object);
      return;
  }
}

function destroy(model: Model, label: string, wrapper: WrapperModel, object: Wrapper<"Widget">): void {
  const code = refusalOf(model, [[wrapper, "invalidate"]]);
  expectOutcome(label, code, () => lib.wg_widget_destroy(object));
  if (code !== undefined) return;
  model.unlink(wrapper.native);
  model.apply(wrapper, "invalidate");
  model.destroyNative(wrapper.native);
}

const forEachChild = command("forEachChild", fc.tuple(index, fc.array(fc.constantFrom(...actions), { minLength: 1, maxLength: 4 })), ([i, plan]) =>
  step("forEachChild", `window ${i}, ${plan.join(" ")}`, (m) => anyUsable(m, "Window"), (model, real, label) => {
    const window = pick(usable(model, "Window"), i)!;
    const code = refusalOf(model, [[window, "use"]]);
    const children = window.native.children.slice(0, 64);
    const borrowed: WrapperModel[] = [];
    let at = 0;
    const w = real.get<"Window">(window.id);
    const visit = (object: Wrapper<"Widget"> | null) => {
      const native = children[at];
      if (native === undefined) fail("outcome", label, "CALLBACK", "the callback ran for a child the model does not have");
      const wrapper = identify(model, real, native, object, label);
      if (wrapper.state === "borrowed") borrowed.push(wrapper);
      act(model, label, wrapper, object!, plan[at++ % plan.length], w);
      return 0;
    };
    let status: number | undefined;
    try {
      status = expectOutcome(label, code, () => lib.wg_window_for_each_child(w, visit, 0));
    } finally {
      // A callback bound to no object stays open until closed: one per call would use up the gates.
      closeCallback(visit);
    }
    if (code !== undefined) return;
    if (status !== 0 || at !== children.length) fail("outcome", label, "CALLBACK", `for_each_child returned ${status} after ${at} of ${children.length} children`);
    for (const wrapper of borrowed) if (wrapper.state === "borrowed") model.apply(wrapper, "callbackReturned");
  })
);

/** Invalid wrappers of the library's objects (memory and capsules are no callback arguments). */
const isStale = (w: WrapperModel) => w.state === "invalid" && !isCustodyKind(w.native.kind);
const staleObjects = (model: Readonly<Model>) => heldWrappers(model as Model).filter(isStale);

/** Misuse: retain() on a wrapper that is no longer valid (an event after its callback). */
const retainStale = command("retainStale", index, (n) =>
  step("retainStale", `object ${n}`, (m) => heldWrappers(m as Model).some(isStale), (model, real, label) => {
    const wrapper = pick(staleObjects(model), n)!;
    const p = model.apply(wrapper, "retain");
    expectOutcome(label, p.allowed ? undefined : p.code, () => retain(real.get(wrapper.id)));
  })
);

/** The callbacks family. */
export const family: Family = { name: "callbacks", commands: [onEvent, emit, emit, forEachChild, retainStale] };
