/**
 * `bind()`: a native library, opened from a {@linkcode Declaration}, as typed JS functions
 * that enforce ownership. Every call:
 *
 * 1. checks every object argument, and what the call will do to it, against the ownership
 *    table, before any native code runs (a refused argument throws with nothing changed);
 *    a memory `Pointer` given for a `pointer` parameter is checked the same way;
 * 2. makes the native call with the objects' addresses;
 * 3. commits what the call did to each argument: steals, invalidations, parent changes (a
 *    failed call commits only `steal: "always"`);
 * 4. wraps an object result as the declaration says (owned, borrowed, child, known).
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import type { JsValueOf, NativeType, SymbolSpec } from "../ffi/types.ts";
import { type Pointer, pointerArgument } from "../memory/pointer.ts";
import { symbolAddress } from "../native/symbol_address.ts";
import { specialize } from "../specialize.ts";
import type { Event } from "../ownership/transitions.ts";
import {
  addressOf,
  apply,
  attach,
  borrowNative,
  checkEvent,
  handleOf,
  type NativeObject,
  NativeObject as NativeObjectClass,
  type ObjectType,
  objectType,
  keepAlive,
  nativePointerFor,
  notAWrapper,
  ownNative,
  recordOf,
} from "../ownership/wrapper.ts";
import * as registry from "../registry.ts";
import { callbacksOpen, enterNative, leaveNative, type ManagedCallback, makeCallback, takeCallbackError } from "./callbacks.ts";
import type { CallbackDeclaration, CallbackParameter, Declaration, FunctionDeclaration, ObjectParameter, ObjectResult } from "./declaration.ts";
import { applyRules, type BindOptions } from "./rules.ts";
import { checkAllocation, declareAllocation, declaresAllocation } from "./allocation.ts";
import { jsDestructor } from "./destructors.ts";

/** A wrapper of the native type named `Name`. */
export type Wrapper<Name extends string> = NativeObject & { readonly typeName: Name };

type CallbackArgument<P> = P extends NativeType ? JsValueOf<P> : P extends { readonly object: infer Name extends string } ? Wrapper<Name> | null : never;
type CallbackArguments<P extends readonly unknown[]> = { -readonly [K in keyof P]: CallbackArgument<P[K]> };

/** The JS function a callback parameter takes. */
export type CallbackFunction<C extends CallbackDeclaration> = (
  ...args: CallbackArguments<C["parameters"]>
) => JsValueOf<C["result"]>;

type ParameterValue<P> = P extends "pointer" ? number | Pointer
  : P extends NativeType ? JsValueOf<P>
  : P extends CallbackParameter ? CallbackFunction<P["callback"]>
  : P extends ObjectParameter<infer Name> ? (P extends { readonly nullable: true } ? Wrapper<Name> | null : Wrapper<Name>)
  : never;

type ResultValue<R> = R extends NativeType ? JsValueOf<R> : R extends ObjectResult<infer Name> ? Wrapper<Name> | null : never;

type ParameterValues<P extends readonly unknown[]> = { -readonly [K in keyof P]: ParameterValue<P[K]> };

/** The JS function a declared native function becomes. */
export type BoundFunction<F extends FunctionDeclaration> = (
  ...args: ParameterValues<F["parameters"]>
) => F extends { readonly nonblocking: true } ? Promise<ResultValue<F["result"]>> : ResultValue<F["result"]>;

/** A bound library. */
export interface Binding<D extends Declaration> {
  readonly functions: { readonly [K in keyof D["functions"]]: BoundFunction<D["functions"][K]> };
  readonly types: { readonly [K in keyof D["types"]]: ObjectType };
  /** Closes the library. Wrappers of its objects must not be used afterwards. */
  close(): void;
}

function refuse(message: string): never {
  throw new CustodyError("INVALID_ARGUMENT", message);
}

type Parameter = FunctionDeclaration["parameters"][number];

function isObjectParameter(p: Parameter | undefined): p is ObjectParameter {
  return typeof p === "object" && "object" in p;
}

function isCallbackParameter(p: Parameter): p is CallbackParameter {
  return typeof p === "object" && "callback" in p;
}

/** The event a call applies to an object argument, and the rule that says so (for `dump()`). */
function eventOf(p: ObjectParameter): { event: Event; rule: string; always: boolean } {
  const named = (rule: string) => p.rule ?? rule;
  if (p.steal === "safe") return { event: "stealSafe", rule: named("steal: safe"), always: false };
  if (p.steal !== undefined) return { event: "steal", rule: named(`steal: ${p.steal}`), always: p.steal === "always" };
  if (p.stealInto !== undefined) return { event: "stealIntoParent", rule: named("stealInto"), always: false };
  if (p.invalidates) return { event: "invalidate", rule: named("invalidates"), always: false };
  if (p.parent === "remove") return { event: "orphan", rule: named("parent: remove"), always: false };
  return { event: "use", rule: "borrow", always: false };
}

/** Refuses a declaration that could not be enforced, at bind time rather than at the first call. */
function validate(name: string, fn: FunctionDeclaration, types: Declaration["types"]): void {
  const where = `Cannot bind ${name}`;
  const known = (type: string) => Object.hasOwn(types, type) || refuse(`${where}: ${type} is not a declared type`);
  fn.parameters.forEach((p, i) => {
    if (isCallbackParameter(p)) {
      for (const cp of p.callback.parameters) if (typeof cp === "object") known(cp.object);
      if (p.boundTo !== undefined && !isObjectParameter(fn.parameters[p.boundTo])) {
        refuse(`${where}: the callback of parameter ${i} is bound to ${p.boundTo}, which is not an object parameter`);
      }
      return;
    }
    if (!isObjectParameter(p)) return;
    known(p.object);
    const hints = [p.steal !== undefined, p.stealInto !== undefined, p.invalidates === true, p.parent !== undefined].filter(Boolean);
    if (hints.length > 1) refuse(`${where}: parameter ${i} has more than one ownership hint`);
    if (p.parent === "remove" && types[p.object].destructor === undefined) {
      refuse(`${where}: parameter ${i} gives ${p.object} back to JS, but ${p.object} declares no destructor to release it with`);
    }
    if (p.steal === "safe" && !types[p.object].notifiesDestruction) {
      refuse(`${where}: parameter ${i} is stolen "safe", but ${p.object} does not notify its destruction`);
    }
    if (p.keepAlive !== undefined) {
      const by = p.keepAlive.by;
      const nurse = by === "result" ? fn.result : fn.parameters[by];
      if (by === i || nurse === undefined || typeof nurse !== "object") {
        refuse(`${where}: parameter ${i} is kept alive by ${by}, which is not another object parameter or an object result`);
      }
    }
    if (p.stealInto !== undefined) {
      const parent = fn.parameters[p.stealInto];
      if (p.stealInto === i || parent === undefined || !isObjectParameter(parent)) {
        refuse(`${where}: parameter ${i} is stolen into ${p.stealInto}, which is not another object parameter`);
      }
    }
  });
  if (fn.nonblocking && fn.parameters.some((p) => isCallbackParameter(p) && !p.callback.threadSafe)) {
    refuse(`${where}: a nonblocking function runs on another thread, so its callbacks must be threadSafe`);
  }
  // A pinned argument released during the call has its destructor deferred to the end of the
  // call: right for a borrow, a double free for an argument the call takes.
  if (fn.nonblocking && fn.parameters.some((p) => isObjectParameter(p) && eventOf(p).event !== "use")) {
    refuse(`${where}: a nonblocking function may only borrow its object arguments`);
  }
  if (typeof fn.result === "object") {
    known(fn.result.object);
    if (fn.result.ownership === "own" && types[fn.result.object].destructor === undefined) {
      refuse(`${where}: it returns an owned ${fn.result.object}, but ${fn.result.object} declares no destructor to release it with`);
    }
    if (fn.result.ownership === "child") {
      const owner = fn.result.of === undefined ? undefined : fn.parameters[fn.result.of];
      if (owner === undefined || !isObjectParameter(owner)) refuse(`${where}: a child result needs \`of\`, the index of an object parameter`);
    }
  }
}

function defaultSucceeded(result: unknown): boolean {
  return typeof result === "boolean" ? result : typeof result !== "number" || result >= 0;
}

/**
 * Opens the library at `path` and binds every declared function.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for a declaration that cannot be enforced; `NOT_FOUND`
 * when a declared destructor is missing from the library.
 *
 * @example
 * ```ts ignore
 * import { bind } from "./bind.ts";
 * const widgets = bind("./libwidgets.so", {
 *   types: { Window: { destructor: "wg_window_destroy" } },
 *   functions: {
 *     wg_window_new: { parameters: ["pointer", "usize"], result: { object: "Window", ownership: "own" } },
 *     wg_window_child_count: { parameters: [{ object: "Window" }], result: "i64" },
 *   },
 * });
 * using window = widgets.functions.wg_window_new(0, 0)!;
 * console.log(widgets.functions.wg_window_child_count(window)); // 0
 * ```
 */
export function bind<const D extends Declaration>(path: string, declared: D, options: BindOptions = {}): Binding<D> {
  const declaration = applyRules(declared, options);
  const specs: Record<string, SymbolSpec> = {};
  for (const [name, fn] of Object.entries(declaration.functions) as [string, FunctionDeclaration][]) {
    validate(name, fn, declaration.types);
    specs[fn.symbol ?? name] = {
      parameters: fn.parameters.map((p) => isCallbackParameter(p) ? "function" : isObjectParameter(p) ? "pointer" : p),
      result: typeof fn.result === "object" ? "nativePointer" : fn.result,
      nonblocking: fn.nonblocking ?? false,
    };
  }
  if (Object.keys(specs).length === 0) refuse(`Cannot bind ${path}: the declaration has no functions`);
  const library = runtime.open(path, specs);
  const raw = library.symbols as Record<string, (...args: unknown[]) => unknown>;

  const types: Record<string, ObjectType> = {};
  for (const [name, type] of Object.entries(declaration.types) as [string, Declaration["types"][string]][]) {
    types[name] = objectType(name, {
      destructor: type.destructor === undefined
        ? 0
        : typeof type.destructor === "function"
        ? jsDestructor(name, type.destructor).pointer
        : symbolAddress(path, type.destructor),
      notifiesDestruction: type.notifiesDestruction ?? false,
    });
    if (type.allocationTag !== undefined) declareAllocation(types[name], type.allocationTag);
  }

  // Made in one go, so that V8 keeps it a fast object (see the Deno adapter).
  const functions = Object.fromEntries(
    (Object.entries(declaration.functions) as [string, FunctionDeclaration][]).map(([name, fn]) => [name, boundFunction(name, fn, raw[fn.symbol ?? name], types)]),
  );
  return { functions, types, close: () => library.close() } as unknown as Binding<D>;
}

/**
 * The call path for the commonest shape, chosen at bind time: object arguments only
 * borrowed, no callbacks, a primitive result or a new owned or borrowed object, a blocking
 * call. Fixed arity, one check per object argument; the same guarantees as the general path.
 * While no custody callback is open, no JS can run during the call, so it needs no bracket.
 */
function fastBoundFunction(name: string, fn: FunctionDeclaration, call: (...args: unknown[]) => unknown, types: Record<string, ObjectType>) {
  const result = fn.result;
  // The results the fast path takes never look at the arguments.
  const noArguments: unknown[] = [];
  const resultType = typeof result === "object" ? types[result.object] : undefined;
  // A plain result becomes a wrapper at a call site of this symbol's own, not through the
  // closures of `resultWrapper`, which every symbol shares.
  const plain = typeof result === "object" ? plainResult(result, types[result.object]) : undefined;
  const wrap = typeof result === "object" && plain === undefined ? resultWrapper(name, result, types[result.object]) : undefined;
  const arity = fn.parameters.length;
  const objectTypes = fn.parameters.map((p) => isObjectParameter(p) ? types[p.object] : undefined);
  const wrongArgument = (index: number, value: unknown): never => {
    const p = fn.parameters[index] as ObjectParameter;
    return refuse(`Cannot call ${name}: argument ${index} must be a ${p.object}, not ${describe(value)}`);
  };
  const finish = (returned: unknown) => {
    const thrown = takeCallbackError();
    if (thrown !== undefined) throw thrown.error;
    return returned;
  };
  const arityError = (count: number) => refuse(`Cannot call ${name}: it takes ${arity} arguments, got ${count}`);
  // Compiled for this symbol (see `specialize`): each check and the native call get call
  // sites of their own, so the engine inlines them.
  // A `pointer` parameter also takes a memory `Pointer` (checked by `pointerArgument`).
  const checks = objectTypes.map((type, i) =>
    type !== undefined
      ? `const x${i} = pointerFor(a${i}, type${i}); if (x${i} === notAWrapper) wrongArgument(${i}, a${i});`
      : fn.parameters[i] === "pointer"
      ? `const x${i} = pointerArgument(a${i});`
      : ""
  );
  const args = fn.parameters.map((p, i) => objectTypes[i] !== undefined || p === "pointer" ? `x${i}` : `a${i}`).join(", ");
  const scope: Record<string, unknown> = {
    call,
    pointerFor: nativePointerFor,
    pointerArgument,
    notAWrapper,
    wrongArgument,
    arityError,
    finish,
    wrap,
    plain,
    resultType,
    noArguments,
    callbacksOpen,
    enterNative,
    leaveNative,
  };
  objectTypes.forEach((type, i) => {
    if (type !== undefined) scope[`type${i}`] = type;
  });
  const wrapped = plain !== undefined
    ? "returned === null || returned === 0 ? null : plain(resultType, returned)"
    : wrap !== undefined
    ? "wrap(returned, noArguments)"
    : "returned";
  return specialize(
    arity,
    `if (arguments.length !== ${arity}) arityError(arguments.length);
    ${checks.join("\n")}
    let returned;
    if (!callbacksOpen()) {
      returned = call(${args});
      return ${wrapped};
    }
    enterNative();
    try {
      returned = call(${args});
    } finally {
      leaveNative();
    }
    return finish(${wrapped});`,
    scope,
  );
}

function boundFunction(name: string, fn: FunctionDeclaration, call: (...args: unknown[]) => unknown, types: Record<string, ObjectType>) {
  const objectParameters = fn.parameters.flatMap((p, i) => isObjectParameter(p) ? [{ index: i, p, ...eventOf(p) }] : []);
  const callbackParameters = fn.parameters.flatMap((p, i) => isCallbackParameter(p) ? [{ index: i, p }] : []);
  const pointerParameters = fn.parameters.flatMap((p, i) => p === "pointer" ? [i] : []);
  const simpleResult = typeof fn.result !== "object" || fn.result.ownership === "own" || fn.result.ownership === "borrow";
  const plain = callbackParameters.length === 0 && !fn.nonblocking && simpleResult &&
    objectParameters.every(({ p, event }) => event === "use" && !p.nullable && p.keepAlive === undefined);
  if (plain) return fastBoundFunction(name, fn, call, types);
  const succeeded = fn.succeeded ?? defaultSucceeded;
  const result = fn.result;
  const wrapResult = typeof result === "object" ? resultWrapper(name, result, types[result.object]) : undefined;
  // The native call at this symbol's own arity and call site (see `specialize`): a spread
  // call, or one site shared by every symbol, leaves the runtimes' fast FFI paths.
  const callWith = specialize(1, `return call(${fn.parameters.map((_, i) => `a0[${i}]`).join(", ")});`, { call }) as (
    args: unknown[],
  ) => unknown;
  // Per-call allocations only for the shapes that need them: a factory with plain arguments
  // passes its arguments as they are.
  const convertsArguments = objectParameters.length > 0 || callbackParameters.length > 0 || pointerParameters.length > 0;
  const changesOwnership = objectParameters.some(({ event }) => event !== "use");

  return (...args: unknown[]) => {
    if (args.length !== fn.parameters.length) {
      refuse(`Cannot call ${name}: it takes ${fn.parameters.length} arguments, got ${args.length}`);
    }
    // 1. Check everything before native code runs.
    const native = convertsArguments ? args.slice() : args;
    for (const index of pointerParameters) native[index] = pointerArgument(args[index]);
    const taken = changesOwnership ? new Set<NativeObject>() : undefined;
    for (const { index, p, event } of objectParameters) {
      const value = args[index];
      if (value === null && p.nullable) {
        native[index] = 0;
        continue;
      }
      const pointer = nativePointerFor(value, types[p.object]);
      if (pointer === notAWrapper) refuse(`Cannot call ${name}: argument ${index} must be a ${p.object}, not ${describe(value)}`);
      native[index] = pointer;
      const object = value as NativeObject;
      if (taken !== undefined && event !== "use") {
        if (taken.has(object)) refuse(`Cannot call ${name}: the same ${p.object} is passed twice to a call that changes its ownership`);
        taken.add(object);
        checkEvent(object, event);
        if (event !== "orphan") checkAllocation(types[p.object], addressOf(object), `pass to ${name}, which takes or destroys it,`);
      }
    }
    // Callbacks are made only once every check passed, so a refused call leaves none open.
    const made: [ManagedCallback, CallbackParameter, number][] = callbackParameters.length === 0 ? [] : callbackParameters.map(({ index, p }) => {
      const owner = p.boundTo === undefined ? undefined : args[p.boundTo] as NativeObject;
      const managed = makeCallback(p.callback, args[index] as (...a: unknown[]) => unknown, types, owner, `${name}()`);
      native[index] = managed.pointer;
      return [managed, p, index];
    });
    for (const [managed, p, index] of made) {
      if (p.boundTo !== undefined) attach(args[p.boundTo] as NativeObject, `${name}:${index}`, managed);
    }
    // 2. The native call.
    if (fn.nonblocking) {
      const pinned = objectParameters.flatMap(({ index }) => args[index] instanceof NativeObjectClass ? [handleOf(args[index] as NativeObject)] : []);
      for (const handle of pinned) registry.keepAlive(handle);
      const unpin = () => pinned.forEach((handle) => registry.dropKeepAlive(handle));
      return (callWith(native) as Promise<unknown>).then(
        (returned) => {
          unpin();
          return settle(args, returned);
        },
        (error) => {
          unpin();
          throw error;
        },
      );
    }
    enterNative();
    let returned: unknown;
    try {
      returned = callWith(native);
    } finally {
      leaveNative();
    }
    return settle(args, returned);
  };

  /** Steps 3 and 4, once the native call returned. */
  function settle(args: unknown[], returned: unknown) {
    // 3. What the call did to its arguments.
    const ok = succeeded(returned as number | boolean);
    for (const { index, p, event, rule, always } of objectParameters) {
      const value = args[index];
      if (event === "use" || value === null || !(ok || always)) continue;
      const parent = p.stealInto === undefined ? undefined : args[p.stealInto] as NativeObject;
      apply(value as NativeObject, event, { event, by: `${name}()` }, { rule, ...(parent === undefined ? {} : { parent }) });
    }
    // 4. The result, then the keep-alives it or the arguments hold.
    const wrapped = wrapResult === undefined ? returned : wrapResult(returned, args);
    if (ok) {
      for (const { index, p } of objectParameters) {
        if (p.keepAlive === undefined) continue;
        const nurse = (p.keepAlive.by === "result" ? wrapped : args[p.keepAlive.by]) as NativeObject | null;
        if (nurse === null) continue;
        keepAlive(nurse, args[index] as NativeObject | null, p.keepAlive.slot ?? `${name}:${index}`, p.keepAlive.mode ?? "add");
      }
    }
    const thrown = takeCallbackError();
    if (thrown !== undefined) throw thrown.error;
    return wrapped;
  }
}

/**
 * How a symbol's object result, which arrives as a runtime pointer (a `nativePointer`
 * result), becomes a wrapper; everything the declaration fixes is settled here, at bind time.
 */
function resultWrapper(name: string, result: ObjectResult, type: ObjectType): (pointer: unknown, args: unknown[]) => NativeObject | null {
  const wrap = objectOf(name, result, type);
  return (pointer, args) => pointer === null || pointer === 0 ? null : wrap(pointer, args);
}

/**
 * How a plain object result becomes a wrapper: an own or borrow result of a type with no
 * allocation rule needs nothing but its type and pointer. Undefined for the others.
 */
function plainResult(result: ObjectResult, type: ObjectType): ((type: ObjectType, pointer: unknown) => NativeObject) | undefined {
  if (result.ownership === "borrow") return borrowNative;
  return result.ownership === "own" && !declaresAllocation(type) ? ownNative : undefined;
}

/** The wrapper of a non-null object result, by the result's ownership. */
function objectOf(name: string, result: ObjectResult, type: ObjectType): (pointer: unknown, args: unknown[]) => NativeObject {
  const plain = plainResult(result, type);
  if (plain !== undefined) return (pointer) => plain(type, pointer);
  switch (result.ownership) {
    case "own":
    case "borrow":
      // Not plain: an owned result of a type with an allocation rule.
      return (pointer) => {
        checkAllocation(type, runtime.addressOfNative(pointer), `own the result of ${name},`);
        return ownNative(type, pointer);
      };
    case "child":
      return (pointer, args) => {
        const object = borrowNative(type, pointer);
        const owner = args[result.of!] as NativeObject;
        if (recordOf(object).state !== "child" || registry.info(handleOf(object)).parent?.slot !== handleOf(owner).slot) {
          apply(object, "adopt", { event: "adopt", by: `${name}()` }, { rule: result.rule ?? "child result", parent: owner });
        }
        return object;
      };
    case "known":
      return (pointer) => {
        const address = runtime.addressOfNative(pointer);
        const held = registry.find(address, type.nameId);
        if (held === undefined) {
          throw new CustodyError("NOT_FOUND", `Cannot return from ${name}: 0x${address.toString(16)} is not a ${type.name} custody holds`);
        }
        return borrowNative(type, pointer);
      };
  }
}

function describe(value: unknown): string {
  if (value instanceof NativeObjectClass) return `a ${value.typeName}`;
  if (value === null) return "null";
  return typeof value;
}
