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
import { checkViolations, expectOutcome, fail, pick } from "../command.ts";
import type { Item, Kind, SqliteModel } from "./model.ts";

const f = sqlite.functions;
const ROW = 100;
const tracing = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.SQLITE_FUZZ_TRACE === "1";

/** Prints `line` to stderr when SQLITE_FUZZ_TRACE=1: every command of every run, as it runs. */
export function trace(line: string): void {
  if (tracing) console.error(line);
}

/** The real side of a run: the violation count it started from. */
export interface SqliteReal {
  readonly violations: number;
}

/** A command of the SQLite fuzz. */
export type SqliteCommand = fc.Command<SqliteModel, SqliteReal>;

/** Per-command counts of this process, for stats.json. */
export const sqliteCommandCounts = new Map<string, number>();

const strings = { main: newString("main"), table: newString("t"), column: newString("data"), payload: newString("custody!") };

/**
 * A command: its name, its arguments for the label (none: the label is the name alone), and
 * its body. One class for every command, like fuzz/command.ts's steps: a class per command
 * makes generating a run cost more than running it.
 */
class SqliteStep implements SqliteCommand {
  constructor(
    readonly name: string,
    private readonly args: string | undefined,
    private readonly body: (model: SqliteModel, label: string) => void,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: SqliteModel, real: SqliteReal): void {
    sqliteCommandCounts.set(this.name, (sqliteCommandCounts.get(this.name) ?? 0) + 1);
    const label = this.toString();
    trace(label);
    this.body(model, label);
    checkViolations(label, real.violations);
  }
  toString(): string {
    return this.args === undefined ? this.name : `${this.name}(${this.args})`;
  }
}

/** The error using `item` throws, or undefined when it is usable. */
function useError(item: Item): ErrorCode | undefined {
  return item.valid ? undefined : "INVALID_OBJECT";
}

/** A command over one picked item of `kind`. */
function on(kind: Kind, name: string, body: (model: SqliteModel, item: Item, label: string) => void): fc.Arbitrary<SqliteCommand> {
  return fc.nat(63).map((n) =>
    new SqliteStep(name, String(n), (model, label) => {
      const item = pick(model.of(kind), n);
      if (item !== undefined && (kind === "backup" || !model.busy(item))) body(model, item, label);
    })
  );
}

/** A command without arguments. */
function simple(name: string, body: (model: SqliteModel, label: string) => void): fc.Arbitrary<SqliteCommand> {
  return fc.constant(new SqliteStep(name, undefined, body));
}

const open = simple("open", (model) => {
  const db = openDatabase(":memory:");
  run(db, "create table t(x, data)");
  run(db, "insert into t values (1, zeroblob(8)), (2, zeroblob(8))");
  model.add("connection", db);
});

const close = on("connection", "close", (model, item, label) => {
  expectOutcome(label, item.valid ? undefined : "DOUBLE_RELEASE", () => item.object.release());
  if (item.valid) model.end(item);
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
  if (item.valid) model.end(item);
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
  new SqliteStep("openBlob", `${n}, ${row}, ${writable}`, (model, label) => {
    const db = pick(model.of("connection"), n);
    if (db === undefined || model.busy(db)) return;
    const blob = expectOutcome(label, useError(db), () =>
      f.custody_sqlite_blob_open(db.object as never, strings.main, strings.table, strings.column, row, writable ? 1 : 0));
    // A backup into this connection may have replaced its pages: SQLite may refuse then.
    if (blob === null && db.valid && !model.items.some((b) => b.kind === "backup" && b.owner === db)) {
      fail("outcome", label, "NULL", `sqlite3_blob_open failed: ${f.sqlite3_errcode(db.object as never)}`);
    }
    if (blob !== null && blob !== undefined) model.add("blob", blob, db);
  })
);

const blobReadWrite = on("blob", "blobReadWrite", (_, item, label) =>
  expectOutcome(label, useError(item), () => {
    f.sqlite3_blob_bytes(item.object as never);
    f.sqlite3_blob_write(item.object as never, strings.payload, 8, 0);
    f.sqlite3_blob_read(item.object as never, strings.payload, 8, 0);
  }));

const closeBlob = on("blob", "closeBlob", (model, item, label) => {
  expectOutcome(label, useError(item), () => f.custody_sqlite_blob_close(item.object as never));
  if (item.valid) model.end(item);
});

const backupInit = fc.tuple(fc.nat(63), fc.nat(63)).map(([d, s]) =>
  new SqliteStep("backupInit", `${d}, ${s}`, (model, label) => {
    const connections = model.of("connection");
    const destination = pick(connections, d), source = pick(connections, s);
    if (destination === undefined || source === undefined || model.busy(destination) || model.busy(source)) return;
    const code = useError(destination) ?? useError(source);
    const backup = expectOutcome(label, code, () =>
      f.custody_sqlite_backup_init(destination.object as never, strings.main, source.object as never, strings.main));
    // SQLite refuses one connection as both ends, and a destination with a read transaction (an open blob).
    const refused = destination === source || model.hasOpenBlob(destination);
    if (code === undefined && (backup === null) !== refused) {
      fail("outcome", label, "BACKUP", `sqlite3_backup_init ${backup === null ? "failed" : "succeeded"}, the model expected the opposite`);
    }
    if (backup !== null && backup !== undefined) model.add("backup", backup, destination, source);
  })
);

const backupStep = on("backup", "backupStep", (_, item, label) =>
  expectOutcome(label, useError(item), () => f.sqlite3_backup_step(item.object as never, 1)));

const backupFinish = on("backup", "backupFinish", (model, item, label) => {
  expectOutcome(label, useError(item), () => f.custody_sqlite_backup_finish(item.object as never));
  if (item.valid) model.end(item);
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
