/**
 * The command families of the SQLite fuzz: connections, statements, blobs, backups, UDFs
 * and SQLite-allocated strings, each picked by index among every object of its kind the run
 * made, valid or not, so that use after close, double finalize and use after the owner's
 * death come up as often as ordinary use. Each command predicts its outcome (success, or
 * the CustodyError code) and checks it.
 *
 * @module
 */
import fc from "fast-check";
import type { ErrorCode } from "../../src/errors.ts";
import { newString } from "../../src/memory/strings.ts";
import { sqlite } from "../../src/sqlite/library.ts";
import { createFunction, openDatabase, prepare, run, type Value, valueOf } from "../../src/sqlite/database.ts";
import { violationCount } from "../../src/stats.ts";
import { expectOutcome, fail } from "../command.ts";
import type { Item, Kind, SqliteModel } from "./model.ts";

const f = sqlite.functions;
const ROW = 100;
const trace = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.SQLITE_FUZZ_TRACE === "1";

/** The real side of a run: the violation count it started from. */
export interface SqliteReal {
  readonly violations: number;
}

/** A command of the SQLite fuzz. */
export type SqliteCommand = fc.Command<SqliteModel, SqliteReal>;

/** Per-command counts of this process, for stats.json. */
export const sqliteCommandCounts = new Map<string, number>();

const strings = { main: newString("main"), table: newString("t"), column: newString("data"), payload: newString("custody!") };

abstract class Base implements SqliteCommand {
  abstract readonly name: string;
  check(): boolean {
    return true;
  }
  run(model: SqliteModel, real: SqliteReal): void {
    sqliteCommandCounts.set(this.name, (sqliteCommandCounts.get(this.name) ?? 0) + 1);
    if (trace) console.error(this.toString());
    this.apply(model);
    if (violationCount() !== real.violations) fail("allocator", this.toString(), "VIOLATION", `the tracked allocator reported ${violationCount() - real.violations} violations`);
  }
  protected abstract apply(model: SqliteModel): void;
  abstract toString(): string;
}

/** The error using `item` throws, or undefined when it is usable. */
function useError(item: Item): ErrorCode | undefined {
  return item.valid ? undefined : "INVALID_OBJECT";
}

function pick(model: SqliteModel, kind: Kind, n: number): Item | undefined {
  const list = model.of(kind);
  return list.length === 0 ? undefined : list[n % list.length];
}

/** A command over one picked item of `kind`. */
function on(kind: Kind, name: string, body: (model: SqliteModel, item: Item, label: string) => void): fc.Arbitrary<SqliteCommand> {
  return fc.nat(63).map((n) =>
    new (class extends Base {
      readonly name = name;
      apply(model: SqliteModel) {
        const item = pick(model, kind, n);
        if (item !== undefined && (kind === "backup" || !model.busy(item))) body(model, item, this.toString());
      }
      toString() {
        return `${name}(${n})`;
      }
    })()
  );
}

function simple(name: string, body: (model: SqliteModel, label: string) => void): fc.Arbitrary<SqliteCommand> {
  return fc.constant(
    new (class extends Base {
      readonly name = name;
      apply(model: SqliteModel) {
        body(model, this.toString());
      }
      toString() {
        return name;
      }
    })(),
  );
}

const open = simple("open", (model) => {
  const db = openDatabase(":memory:");
  run(db, "create table t(x, data)");
  run(db, "insert into t values (1, zeroblob(8)), (2, zeroblob(8))");
  model.add("connection", db);
});

const close = on("connection", "close", (model, item, label) => {
  expectOutcome(label, item.valid ? undefined : "DOUBLE_RELEASE", () => item.object.release());
  if (item.valid) model.end(item, "released");
});

const prepareStatement = on("connection", "prepare", (model, item, label) => {
  const statement = expectOutcome(label, useError(item), () => prepare(item.object as never, "select x, data from t where x >= ?", [1]));
  if (item.valid) model.add("statement", statement, item);
});

const step = on("statement", "step", (_, item, label) =>
  expectOutcome(label, useError(item), () => {
    // To the end, then reset: no read transaction stays open between commands.
    while (f.sqlite3_step(item.object as never) === ROW);
    f.sqlite3_reset(item.object as never);
  }));

const finalize = on("statement", "finalize", (model, item, label) => {
  expectOutcome(label, useError(item), () => f.sqlite3_finalize(item.object as never));
  if (item.valid) model.end(item, "closed");
});

const releaseChild = on("statement", "releaseStatement", (_, item, label) =>
  expectOutcome(label, item.valid ? "NOT_OWNER" : "INVALID_OBJECT", () => item.object.release()));

const expandedSql = on("statement", "expandedSql", (_, item, label) =>
  expectOutcome(label, useError(item), () => {
    const text = f.sqlite3_expanded_sql(item.object as never);
    if (text === null) fail("outcome", label, "NULL", "sqlite3_expanded_sql returned NULL");
    text.release();
    expectOutcome(label, "DOUBLE_RELEASE", () => text.release());
  }));

const openBlob = fc.tuple(fc.nat(63), fc.constantFrom(1, 2), fc.boolean()).map(([n, row, writable]) =>
  new (class extends Base {
    readonly name = "openBlob";
    apply(model: SqliteModel) {
      const db = pick(model, "connection", n);
      if (db === undefined || model.busy(db)) return;
      const blob = expectOutcome(this.toString(), useError(db), () =>
        f.custody_sqlite_blob_open(db.object as never, strings.main, strings.table, strings.column, row, writable ? 1 : 0));
      // A backup into this connection may have replaced its pages: SQLite may refuse then.
      if (blob === null && db.valid && !model.items.some((b) => b.kind === "backup" && b.owner === db)) {
        fail("outcome", this.toString(), "NULL", `sqlite3_blob_open failed: ${f.sqlite3_errcode(db.object as never)}`);
      }
      if (blob !== null && blob !== undefined) model.add("blob", blob, db);
    }
    toString() {
      return `openBlob(${n}, ${row}, ${writable})`;
    }
  })()
);

const blobReadWrite = on("blob", "blobReadWrite", (_, item, label) =>
  expectOutcome(label, useError(item), () => {
    f.sqlite3_blob_bytes(item.object as never);
    f.sqlite3_blob_write(item.object as never, strings.payload, 8, 0);
    f.sqlite3_blob_read(item.object as never, strings.payload, 8, 0);
  }));

const closeBlob = on("blob", "closeBlob", (model, item, label) => {
  expectOutcome(label, useError(item), () => f.custody_sqlite_blob_close(item.object as never));
  if (item.valid) model.end(item, "closed");
});

const backupInit = fc.tuple(fc.nat(63), fc.nat(63)).map(([d, s]) =>
  new (class extends Base {
    readonly name = "backupInit";
    apply(model: SqliteModel) {
      const destination = pick(model, "connection", d), source = pick(model, "connection", s);
      if (destination === undefined || source === undefined || model.busy(destination) || model.busy(source)) return;
      const code = useError(destination) ?? useError(source);
      const backup = expectOutcome(this.toString(), code, () =>
        f.custody_sqlite_backup_init(destination.object as never, strings.main, source.object as never, strings.main));
      // SQLite refuses one connection as both ends, and a destination with a read transaction (an open blob).
      const refused = destination === source || model.hasOpenBlob(destination);
      if (code === undefined && (backup === null) !== refused) {
        fail("outcome", this.toString(), "BACKUP", `sqlite3_backup_init ${backup === null ? "failed" : "succeeded"}, the model expected the opposite`);
      }
      if (backup !== null && backup !== undefined) model.add("backup", backup, destination, source);
    }
    toString() {
      return `backupInit(${d}, ${s})`;
    }
  })()
);

const backupStep = on("backup", "backupStep", (_, item, label) =>
  expectOutcome(label, useError(item), () => f.sqlite3_backup_step(item.object as never, 1)));

const backupFinish = on("backup", "backupFinish", (model, item, label) => {
  expectOutcome(label, useError(item), () => f.custody_sqlite_backup_finish(item.object as never));
  if (item.valid) model.end(item, "closed");
});

/** The argument the UDF saw last: it must be dead once the callback returned. */
let kept: Value | undefined;

const callFunction = on("connection", "callFunction", (model, item, label) =>
  expectOutcome(label, useError(item), () => {
    if (!model.functions.has(item.id)) {
      createFunction(item.object as never, "keep", 1, (value) => {
        kept = value;
        return valueOf(value);
      });
      model.functions.add(item.id);
    }
    kept = undefined;
    const statement = prepare(item.object as never, "select keep(x) from t");
    try {
      while (f.sqlite3_step(statement) === ROW);
    } finally {
      f.sqlite3_finalize(statement);
    }
    // The callback's argument died when it returned.
    if (kept === undefined) fail("outcome", label, "NOT_CALLED", "the UDF was never called");
    expectOutcome(label, "INVALID_OBJECT", () => valueOf(kept!));
  }));

/** Every command of the SQLite fuzz. */
export const sqliteCommands: readonly fc.Arbitrary<SqliteCommand>[] = [
  open,
  open,
  close,
  prepareStatement,
  prepareStatement,
  step,
  finalize,
  releaseChild,
  expandedSql,
  openBlob,
  blobReadWrite,
  closeBlob,
  backupInit,
  backupStep,
  backupFinish,
  callFunction,
];
