/**
 * The SQLite fuzz model: what a run of commands should leave open, next to the real
 * wrappers. A connection owns its statements, blobs and backups; a backup keeps its source
 * alive. Every object is one `Item`: its kind, whether JS may still use it, and its parents.
 *
 * Unlike the widgets model (fuzz/model.ts), which predicts from custody's transition table,
 * the commands write the error codes they expect themselves (INVALID_OBJECT, DOUBLE_RELEASE,
 * NOT_OWNER): a check that does not share the table with the code under test.
 *
 * @module
 */
import type { NativeObject } from "../../src/ownership/wrapper.ts";

/** What kind of object an item is. */
export type Kind = "connection" | "statement" | "blob" | "backup";

/** One object of the run, in the model and for real. */
export interface Item {
  readonly id: number;
  readonly kind: Kind;
  /** The owning connection (the destination, for a backup); none for a connection. */
  readonly owner?: Item;
  /** A backup's source. */
  readonly source?: Item;
  /** Whether JS may use it: false after release, finalize, close, or its owner's death. */
  valid: boolean;
  readonly object: NativeObject;
}

/** The state of one run. */
export class SqliteModel {
  readonly items: Item[] = [];
  /** Connections a UDF was registered on. */
  readonly functions = new Set<number>();

  add(kind: Kind, object: NativeObject, owner?: Item, source?: Item): Item {
    const item: Item = { id: this.items.length, kind, owner, source, valid: true, object };
    this.items.push(item);
    return item;
  }

  /** The items of `kind`, valid or not: commands pick invalid ones too, on purpose. */
  of(kind: Kind): Item[] {
    return this.items.filter((item) => item.kind === kind);
  }

  /** `item` ends (released, finalized, closed); what it owns ends with it. */
  end(item: Item): void {
    item.valid = false;
    for (const child of this.items) if (child.owner === item && child.valid) this.end(child);
  }

  /**
   * Whether JS must leave `item` alone: it is, or belongs to, the destination of a backup in
   * progress. SQLite leaves such use undefined ("may malfunction") and does not check it,
   * and custody has no hint for an exclusive borrow, so the model never does it.
   */
  busy(item: Item): boolean {
    const connection = item.kind === "connection" ? item : item.owner;
    if (connection === undefined || !connection.valid) return false;
    return this.items.some((b) => b.kind === "backup" && b.valid && b.owner === connection);
  }

  /** Whether `connection` has an open blob, which holds a read transaction on it. */
  hasOpenBlob(connection: Item): boolean {
    return this.items.some((item) => item.kind === "blob" && item.valid && item.owner === connection);
  }
}
