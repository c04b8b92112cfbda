// The system's SQLite bound through custody, under both runtimes: its allocations in the
// tracked allocator, statements, blobs and backups as children of their connection, UDF
// arguments invalid after the callback, strings SQLite allocates freed once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, dump, isValid, newString, stats, string, violationCount } from "../mod.ts";
import { sqlite } from "../src/sqlite/library.ts";
import { createCollation, createFunction, openDatabase, prepare, query, run, type Value, valueOf } from "../src/sqlite/database.ts";
import { throwsCode } from "./helpers.ts";

const f = sqlite.functions;
const sqliteBlocks = (since: number) => allocator.liveBlocks(since).filter((b) => b.tag === "sqlite");

/** Notes where a test starts; `assertClean()` then asserts it left no SQLite block and no violation. */
function watch() {
  const start = allocator.nextSequence();
  const violations = violationCount();
  return {
    blocks: () => sqliteBlocks(start),
    assertClean(): void {
      assert.deepEqual(sqliteBlocks(start), []);
      assert.equal(violationCount(), violations);
    },
  };
}

describe("SQLite under custody", () => {
  it("allocates through the tracked allocator, and frees it all when the connection closes", () => {
    const watched = watch();
    const db = openDatabase(":memory:");
    run(db, "create table t(x)");
    run(db, "insert into t values (1), (2), (3)");
    const blocks = watched.blocks();
    assert.ok(blocks.some((b) => b.address === db.address), "the connection is a tracked block");
    assert.equal(blocks.reduce((sum, b) => sum + b.size, 0) > 0, true);
    assert.equal(f.sqlite3_memory_used(), allocator.liveBlocks().filter((b) => b.tag === "sqlite").reduce((sum, b) => sum + b.size, 0));
    db.release();
    watched.assertClean();
  });

  it("makes statements children of their connection: closing it finalizes them once", () => {
    const watched = watch();
    const db = openDatabase(":memory:");
    const statement = prepare(db, "select 1");
    assert.equal(statement.state, "child");
    throwsCode(() => statement.release(), "NOT_OWNER");
    const finalized = prepare(db, "select 2");
    assert.equal(f.sqlite3_finalize(finalized), 0);
    throwsCode(() => f.sqlite3_finalize(finalized), "INVALID_OBJECT");
    db.release();
    assert.equal(statement.isValid, false);
    throwsCode(() => f.sqlite3_step(statement), "INVALID_OBJECT", /parent|Connection/);
    throwsCode(() => f.sqlite3_finalize(statement), "INVALID_OBJECT");
    throwsCode(() => f.sqlite3_errcode(db), "INVALID_OBJECT");
    watched.assertClean();
  });

  it("knows a statement's connection, and refuses a statement where a connection goes", () => {
    using db = openDatabase(":memory:");
    const statement = prepare(db, "select 1");
    assert.equal(f.sqlite3_db_handle(statement), db);
    throwsCode(() => f.sqlite3_errcode(statement as never), "INVALID_ARGUMENT", /must be a Connection/);
    f.sqlite3_finalize(statement);
  });

  it("reads and writes blobs, which die with their connection", () => {
    const watched = watch();
    const db = openDatabase(":memory:");
    run(db, "create table b(data)");
    run(db, "insert into b values (zeroblob(16))");
    using schema = newString("main"), table = newString("b"), column = newString("data");
    const blob = f.custody_sqlite_blob_open(db, schema, table, column, 1, 1)!;
    assert.equal(blob.state, "child");
    assert.equal(f.sqlite3_blob_bytes(blob), 16);
    using written = newString("custody");
    assert.equal(f.sqlite3_blob_write(blob, written, 7, 4), 0);
    const buffer = allocator.malloc(16);
    assert.equal(f.sqlite3_blob_read(blob, buffer, 16, 0), 0);
    assert.equal(string(buffer + 4, 7), "custody");
    allocator.free(buffer);
    const closed = f.custody_sqlite_blob_open(db, schema, table, column, 1, 0)!;
    assert.equal(f.custody_sqlite_blob_close(closed), 0);
    throwsCode(() => f.sqlite3_blob_bytes(closed), "INVALID_OBJECT");
    db.release();
    throwsCode(() => f.sqlite3_blob_bytes(blob), "INVALID_OBJECT");
    watched.assertClean();
  });

  it("keeps a backup's source open until the backup is finished", () => {
    const watched = watch();
    const source = openDatabase(":memory:");
    run(source, "create table t(x)");
    run(source, "insert into t values (41), (42)");
    const destination = openDatabase(":memory:");
    using main = newString("main");
    const backup = f.custody_sqlite_backup_init(destination, main, source, main)!;
    assert.equal(backup.state, "child");
    assert.equal(dump(source).keepAlive, 1, "libcustody_sqlite keeps the source alive for the backup");
    source.release(); // invalid to JS at once, closed natively only once the backup is done
    throwsCode(() => f.sqlite3_errcode(source), "INVALID_OBJECT");
    assert.equal(f.sqlite3_backup_step(backup, -1), 101);
    assert.equal(f.custody_sqlite_backup_finish(backup), 0);
    assert.deepEqual(query(destination, "select sum(x) as total from t"), [{ total: 83 }]);
    destination.release();
    watched.assertClean();
  });

  it("finishes an unfinished backup with its destination", () => {
    const watched = watch();
    const source = openDatabase(":memory:");
    const destination = openDatabase(":memory:");
    using main = newString("main");
    const backup = f.custody_sqlite_backup_init(destination, main, source, main)!;
    destination.release();
    throwsCode(() => f.sqlite3_backup_step(backup, 1), "INVALID_OBJECT");
    source.release();
    watched.assertClean();
  });

  it("invalidates a UDF's arguments when the callback returns", () => {
    using db = openDatabase(":memory:");
    let kept: Value | undefined;
    createFunction(db, "twice", 1, (value) => {
      kept = value;
      assert.equal(value.isValid, true);
      return (valueOf(value) as number) * 2;
    });
    assert.deepEqual(query(db, "select twice(21) as answer"), [{ answer: 42 }]);
    assert.equal(isValid(kept), false);
    throwsCode(() => valueOf(kept!), "INVALID_OBJECT");
  });

  it("turns a throwing UDF into the statement's SQL error, and replaces a function of the same name", () => {
    using db = openDatabase(":memory:");
    createFunction(db, "check_positive", 1, (value) => {
      if ((valueOf(value) as number) <= 0) throw new Error("not positive");
      return 1;
    });
    assert.throws(() => query(db, "select check_positive(-1)"), /not positive/);
    createFunction(db, "check_positive", 1, () => "replaced");
    assert.deepEqual(query(db, "select check_positive(-1) as r"), [{ r: "replaced" }]);
  });

  it("sorts with a JS collation", () => {
    using db = openDatabase(":memory:");
    run(db, "create table names(n)");
    run(db, "insert into names values ('b'), ('C'), ('a')");
    createCollation(db, "js_nocase", (a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    assert.deepEqual(query(db, "select n from names order by n collate js_nocase").map((r) => r.n), ["a", "b", "C"]);
  });

  it("frees strings SQLite allocates with sqlite3_free, once", () => {
    using db = openDatabase(":memory:");
    const statement = prepare(db, "select ?", [7]);
    const expanded = f.sqlite3_expanded_sql(statement)!;
    assert.equal(string(expanded.address), "select 7");
    assert.equal(allocator.liveBlocks().find((b) => b.address === expanded.address)?.tag, "sqlite");
    const freed = stats().totalFrees;
    expanded.release();
    assert.equal(stats().totalFrees > freed, true);
    throwsCode(() => expanded.release(), "DOUBLE_RELEASE");
    f.sqlite3_finalize(statement);
  });
});
