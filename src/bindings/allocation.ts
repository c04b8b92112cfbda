/**
 * Which allocator a type's objects come from, checked where it matters: before JS takes
 * ownership of a returned pointer, and before a call hands an object to a function that
 * will free it. A pointer to static or foreign memory (pybind11's `take_ownership` of a
 * static), or memory from another allocator than the one the library frees with
 * (nanobind's allocator mismatch), is refused before anything changes.
 *
 * A type opts in with `allocationTag`: its objects are blocks of custody's tracked
 * allocator allocated under that tag.
 *
 * @module
 */
import { CustodyError } from "../errors.ts";
import { native } from "../native/library.ts";
import * as allocator from "../allocator.ts";
import type { ObjectType } from "../ownership/wrapper.ts";

const tags = new WeakMap<ObjectType, { readonly name: string; readonly id: number }>();

/** Records that objects of `type` are tracked blocks allocated under tag `tag`. */
export function declareAllocation(type: ObjectType, tag: string): void {
  tags.set(type, { name: tag, id: allocator.tag(tag) });
}

/** Whether `type` declared the allocator its objects come from. */
export function declaresAllocation(type: ObjectType): boolean {
  return tags.has(type);
}

/**
 * Checks that `address` is a block the type's allocator made, if the type declared one.
 *
 * @throws {CustodyError} `FOREIGN_MEMORY` when it is not a live tracked block, or one of another tag.
 */
export function checkAllocation(type: ObjectType, address: number, action: string): void {
  const expected = tags.get(type);
  if (expected === undefined) return;
  const found = native.custody_block_tag(address);
  const where = `${type.name} at 0x${address.toString(16)}`;
  if (found < 0) {
    throw new CustodyError("FOREIGN_MEMORY", `Cannot ${action} ${where}: it is not a block of custody's tracked allocator (static or foreign memory), and ${type.name} objects are allocated under tag "${expected.name}"`);
  }
  if (found !== expected.id) {
    throw new CustodyError("FOREIGN_MEMORY", `Cannot ${action} ${where}: it was allocated under tag "${allocator.tagName(found) ?? found}", and ${type.name} objects are allocated under tag "${expected.name}"`);
  }
}
