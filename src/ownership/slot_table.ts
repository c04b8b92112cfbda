/**
 * A table indexed by registry slot, in chunks of 4096 slots made on first use.
 *
 * One flat array over every slot up to the highest one used costs the garbage collector its
 * whole length. With 10^7 live registry entries the flat identity array held 10^7 elements,
 * and JSC, whose write barrier remembers a whole object after a store into it, re-scanned it
 * in young collections: at that level a create in a batch of 10^4 took 2.6x as long as at
 * 10^3, and young collections paused 36 ms in all (BUN_JSC_logGC=1). With chunks: 1.2x and
 * 11 ms. Slots that never had a wrapper (bare registry entries) cost no memory at all.
 *
 * @module
 */

const chunkBits = 12;
const chunkSize = 1 << chunkBits;
const offsetMask = chunkSize - 1;

/**
 * Values by registry slot; a slot never set reads `undefined`.
 *
 * @example
 * ```ts
 * import { SlotTable } from "./slot_table.ts";
 * const table = new SlotTable<string>();
 * table.swap(10_000_000, "window"); // one chunk made, none for the slots below
 * console.log(table.get(10_000_000), table.get(3)); // "window" undefined
 * table.delete(10_000_000, "window");
 * ```
 */
export class SlotTable<T> {
  // Grown one element at a time, never with a gap: storing far past an array's end makes V8
  // and JSC switch it to a slow dictionary.
  private readonly chunks: ((T | undefined)[] | undefined)[] = [];

  /** The value of `slot`, or undefined. */
  get(slot: number): T | undefined {
    return this.chunks[slot >>> chunkBits]?.[slot & offsetMask];
  }

  /** Sets the value of `slot` and returns the one it replaces. */
  swap(slot: number, value: T): T | undefined {
    const chunk = this.chunks[slot >>> chunkBits] ?? this.addChunk(slot >>> chunkBits);
    const previous = chunk[slot & offsetMask];
    chunk[slot & offsetMask] = value;
    return previous;
  }

  /** Clears `slot` if it holds `value`. */
  delete(slot: number, value: T): void {
    const chunk = this.chunks[slot >>> chunkBits];
    if (chunk !== undefined && chunk[slot & offsetMask] === value) chunk[slot & offsetMask] = undefined;
  }

  private addChunk(index: number): (T | undefined)[] {
    while (this.chunks.length < index) this.chunks.push(undefined);
    // A packed array, made full: a holey one costs a prototype check per miss.
    const chunk = Array.from({ length: chunkSize }, () => undefined);
    this.chunks[index] = chunk;
    return chunk;
  }
}
