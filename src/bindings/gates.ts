/**
 * Callback gates, from JS: custody's native trampolines that let a runtime callback run
 * only on the JS thread that made it (see `zig/src/callback_gate.zig`). Native code gets
 * the gate's address, never the runtime's callback:
 *
 * - On the JS thread a call goes straight through.
 * - From another thread, a gate in `refuse` mode does not run the callback: the native
 *   caller gets the fallback result and the refusal is counted, so JS can report it. In
 *   `wait` mode the call waits until this thread drains the queue, and then returns the
 *   callback's real result. In `queue` mode it is run at the next drain and the native
 *   caller goes on at once.
 *
 * While a `wait` or `queue` gate is open, a timer drains the queue every millisecond; it
 * keeps the process alive only while a `wait` gate is open, as Deno's thread-safe
 * callbacks do.
 *
 * @module
 */
import { setInterval, clearInterval } from "node:timers";
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import { parseLayout, readField } from "../layout.ts";
import { native } from "../native/library.ts";
import { check } from "../native/status.ts";

/** What a gate does with a call from another thread. */
export type GateMode = "refuse" | "wait" | "queue";

const modeCodes: Readonly<Record<GateMode, number>> = { refuse: 0, wait: 1, queue: 2 };

const counterFields = ["refused", "queued", "drained", "stale", "pending"] as const;
const layout = parseLayout(runtime.cString(native.custody_gate_counters_layout()), counterFields, "Counters");
const block = new DataView(runtime.view(native.custody_gate_counters(), layout.byteLength));

/** The gates' counters, read from mapped memory. */
export function gateCounters(): Readonly<Record<typeof counterFields[number], number>> {
  return Object.fromEntries(counterFields.map((name) => [name, readField(block, 0, layout.fields[name])])) as Record<typeof counterFields[number], number>;
}

/** Calls from foreign threads refused so far: one read of mapped memory. */
export function refusedCalls(): number {
  return readField(block, 0, layout.fields.refused);
}

/** An open gate. */
export interface Gate {
  /** The address native code calls. */
  readonly pointer: number;
  /** Closes the gate: later calls get the fallback and never reach JS. */
  close(): void;
}

const openByMode: Record<GateMode, number> = { refuse: 0, wait: 0, queue: 0 };
let timer: ReturnType<typeof setInterval> | undefined;

function schedule(): void {
  const draining = openByMode.wait + openByMode.queue > 0;
  if (!draining) {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    return;
  }
  timer ??= setInterval(() => {
    if (readField(block, 0, layout.fields.pending) > 0) drainGates();
  }, 1);
  if (openByMode.wait > 0) timer.ref();
  else timer.unref();
}

/**
 * Opens a gate in front of `target`, the address of a runtime callback made on this
 * thread. Only integer and pointer parameters (at most six) and results pass a gate.
 *
 * @throws {CustodyError} `TABLE_FULL` when every gate is open.
 */
export function openGate(target: number, mode: GateMode, fallback: number): Gate {
  const index = native.custody_gate_open(target, modeCodes[mode], fallback);
  check(index, "Cannot open a callback gate");
  const pointer = native.custody_gate_address(index);
  openByMode[mode]++;
  schedule();
  let closed = false;
  return {
    pointer,
    close() {
      if (closed) return;
      closed = true;
      check(native.custody_gate_close(index), "Cannot close a callback gate");
      openByMode[mode]--;
      schedule();
    },
  };
}

/**
 * Runs the calls other threads queued for this thread's gates now, rather than at the
 * next tick of the drain timer. Returns how many ran.
 *
 * @example
 * ```ts
 * import { drainGates } from "./gates.ts";
 * console.log(drainGates()); // 0: nothing was queued
 * ```
 */
export function drainGates(): number {
  return native.custody_gate_drain();
}

/** The error for calls a gate refused because they came from another thread. */
export function foreignThreadError(count: number): CustodyError {
  return new CustodyError(
    "WRONG_THREAD",
    `Cannot run ${count === 1 ? "a callback" : `${count} callbacks`} called from a foreign native thread: not thread-safe (declare the callback threadSafe); the native caller got the fallback result`,
  );
}
