/**
 * Keep-alives: a renderer keeps its source widget alive (set on creation, replaced or
 * removed by set_source); the source's destructor waits while a renderer keeps it.
 *
 * @module
 */
import fc from "fast-check";
import { command, expectOutcome, fail, type Family, index, pick, refusalOf, step } from "../command.ts";
import type { Model } from "../model.ts";
import { lib } from "../system.ts";
import { anyUsable, usable } from "./parents.ts";

const newRenderer = command("newRenderer", index, (j) =>
  step("newRenderer", `widget ${j}`, (m) => anyUsable(m, "Widget"), (model, real, label) => {
    const widget = pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, [[widget, "use"]]);
    const renderer = expectOutcome(label, code, () => lib.wg_renderer_new(real.get<"Widget">(widget.id)));
    if (code !== undefined) return;
    if (renderer === null) fail("outcome", label, "NULL", "renderer_new returned null");
    const native = model.addNative("Renderer");
    native.source = widget.native;
    model.keep(model.addWrapper(native, "owned"), widget);
    real.add(renderer);
  })
);

const setSource = command("setSource", fc.tuple(index, fc.option(index, { nil: undefined })), ([i, j]) =>
  step("setSource", `renderer ${i}, ${j === undefined ? "null" : `widget ${j}`}`, (m) => anyUsable(m, "Renderer") && (j === undefined || anyUsable(m, "Widget")), (model, real, label) => {
    const renderer = pick(usable(model, "Renderer"), i)!;
    const widget = j === undefined ? undefined : pick(usable(model, "Widget"), j)!;
    const code = refusalOf(model, widget === undefined ? [[renderer, "use"]] : [[renderer, "use"], [widget, "use"]]);
    const status = expectOutcome(label, code, () => lib.wg_renderer_set_source(real.get<"Renderer">(renderer.id), widget === undefined ? null : real.get<"Widget">(widget.id)));
    if (code !== undefined) return;
    if (status !== 0) fail("outcome", label, "STATUS", `set_source returned ${status}`);
    renderer.native.source = widget?.native;
    model.keep(renderer, widget);
  })
);

/** A render is guarded when its source is alive or absent: nothing can guard a pointer the library kept on its own. */
const renderable = (model: Readonly<Model>) =>
  usable(model, "Renderer").filter((r) => r.state === "invalid" || r.native.source === undefined || r.native.source.alive);

const render = command("render", index, (i) =>
  step("render", `renderer ${i}`, (m) => renderable(m).length > 0, (model, real, label) => {
    const renderer = pick(renderable(model), i)!;
    const code = refusalOf(model, [[renderer, "use"]]);
    const frames = expectOutcome(label, code, () => lib.wg_renderer_render(real.get<"Renderer">(renderer.id)));
    if (code !== undefined) return;
    if ((Number(frames) > 0) !== (renderer.native.source !== undefined)) fail("outcome", label, "STATUS", `render returned ${frames}`);
  })
);

/** The keep-alive family. */
export const family: Family = { name: "keepalive", commands: [newRenderer, setSource, render, render] };
