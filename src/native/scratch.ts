/**
 * Scratch memory for out-parameters and small buffers passed to libcustody.
 *
 * A buffer's address is taken once and reused: the memory of an ArrayBuffer does not move
 * while the buffer is reachable, and these buffers live as long as the module.
 *
 * @module
 */
import { runtime } from "../ffi/mod.ts";

/** A JS-owned buffer with its native address. */
export interface ScratchBuffer {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly view: DataView<ArrayBuffer>;
  readonly address: number;
}

/** Allocates a buffer of `byteLength` bytes in JS memory and takes its address. */
export function scratchBuffer(byteLength: number): ScratchBuffer {
  const bytes = new Uint8Array(Math.max(8, byteLength));
  return { bytes, view: new DataView(bytes.buffer), address: runtime.addressOf(bytes) };
}

/** 64 bytes for a call's out-parameters; never held across calls. */
export const outParameters: ScratchBuffer = scratchBuffer(64);

/** Encodes `text` as NUL-terminated UTF-8 into a fresh buffer; returns it with its address and length (without the NUL). */
export function utf8(text: string): ScratchBuffer & { readonly length: number } {
  const encoded = new TextEncoder().encode(text);
  const buffer = scratchBuffer(encoded.length + 1);
  buffer.bytes.set(encoded);
  return { ...buffer, length: encoded.length };
}
