/**
 * Opt-in rules that fill in ownership hints a declaration leaves out: bulk rules over
 * function names (Wrappyr's "every `destroy_*` invalidates its arguments") and Shiboken's
 * heuristics. Each hint they set carries the rule's name, so `dump()` says which rule decided
 * a transition. A hint the declaration states itself always wins.
 *
 * @module
 */
import type { Declaration, FunctionDeclaration, ObjectParameter, ObjectResult } from "./declaration.ts";

/** A hint for the object parameters of every function whose name matches. */
export interface BulkRule {
  /** Shown by `dump()` for the transitions it decides. */
  readonly name: string;
  /** Functions, by their name in the declaration. */
  readonly functions: RegExp;
  /** Which object parameters: one index, or every one. Default: every one. */
  readonly parameters?: number | "all";
  readonly hint: Pick<ObjectParameter, "steal" | "invalidates" | "parent">;
}

/** Shiboken's heuristics, each off unless asked for. */
export interface Heuristics {
  /** An owned result of a function with an object parameter named `parent` becomes that parameter's child. */
  readonly parentConstructor?: boolean;
  /** A borrowed result of a function whose first parameter is an object becomes that object's child. */
  readonly returnValueChild?: boolean;
}

/** What `bind()` accepts besides the declaration. */
export interface BindOptions {
  readonly rules?: readonly BulkRule[];
  readonly heuristics?: Heuristics;
}

function hasHint(p: ObjectParameter): boolean {
  return p.steal !== undefined || p.stealInto !== undefined || p.invalidates !== undefined || p.parent !== undefined;
}

function withRules(name: string, fn: FunctionDeclaration, options: BindOptions): FunctionDeclaration {
  const objectIndexes = fn.parameters.flatMap((p, i) => typeof p === "object" && "object" in p ? [i] : []);
  let parameters = fn.parameters;
  for (const rule of options.rules ?? []) {
    if (!rule.functions.test(name)) continue;
    parameters = parameters.map((p, i) => {
      if (typeof p !== "object" || !("object" in p) || hasHint(p)) return p;
      if (rule.parameters !== undefined && rule.parameters !== "all" && rule.parameters !== i) return p;
      return { ...p, ...rule.hint, rule: rule.name };
    });
  }
  let result = fn.result;
  const heuristics = options.heuristics ?? {};
  if (typeof result === "object") {
    const parentIndex = parameters.findIndex((p) => typeof p === "object" && "object" in p && p.name === "parent");
    if (heuristics.parentConstructor && result.ownership === "own" && parentIndex >= 0) {
      result = { ...result, ownership: "child", of: parentIndex, rule: "parent-constructor heuristic" } satisfies ObjectResult;
    } else if (heuristics.returnValueChild && result.ownership === "borrow" && objectIndexes[0] === 0) {
      result = { ...result, ownership: "child", of: 0, rule: "return-value heuristic" } satisfies ObjectResult;
    }
  }
  return { ...fn, parameters, result };
}

/**
 * The declaration with the rules' and heuristics' hints filled in.
 *
 * @example Every destroy function invalidates its argument
 * ```ts
 * import { applyRules } from "./rules.ts";
 * const declaration = applyRules({
 *   types: { Widget: {} },
 *   functions: { wg_widget_destroy: { parameters: [{ object: "Widget" }], result: "void" } },
 * }, { rules: [{ name: "destroy_* invalidates", functions: /_destroy$/, hint: { invalidates: true } }] });
 * console.log(declaration.functions.wg_widget_destroy.parameters[0]);
 * // { object: "Widget", invalidates: true, rule: "destroy_* invalidates" }
 * ```
 */
export function applyRules<D extends Declaration>(declaration: D, options: BindOptions): D {
  if (options.rules === undefined && options.heuristics === undefined) return declaration;
  const functions: Record<string, FunctionDeclaration> = {};
  for (const [name, fn] of Object.entries(declaration.functions)) functions[name] = withRules(name, fn, options);
  return { ...declaration, functions } as D;
}
