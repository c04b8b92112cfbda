/**
 * SQLite, the system's libsqlite3, used through custody: every allocation SQLite makes goes
 * through custody's tracked allocator, and the ownership rules of the declaration
 * (src/sqlite/library.ts) hold for connections, statements, blobs, backups and UDFs.
 *
 *   deno run --allow-ffi --allow-read --allow-env examples/sqlite/main.ts
 *   bun run examples/sqlite/main.ts
 *
 * @module
 */
import { allocator, CustodyError, isValid, newString, runtime, stats, string, violationCount } from "../../mod.ts";
import { sqlite } from "../../src/sqlite/library.ts";
import { createCollation, createFunction, openDatabase, prepare, query, run, type Value, valueOf } from "../../src/sqlite/database.ts";

const f = sqlite.functions;
const sqliteBytes = () => allocator.liveBlocks().filter((b) => b.tag === "sqlite").reduce((n, b) => n + b.size, 0);
const before = stats();
const violationsBefore = violationCount();
console.log(`SQLite ${f.sqlite3_libversion_number()} on ${runtime.name}, allocating through custody`);

const db = openDatabase(":memory:");
run(db, "create table birds(name, wingspan)");
for (const [name, span] of [["wren", 15], ["Albatross", 340], ["heron", 180]] as const) {
  run(db, "insert into birds values (?, ?)", [name, span]);
}
console.log(`after 3 inserts: ${stats().liveCount - before.liveCount} live blocks; SQLite counts ${f.sqlite3_memory_used()} bytes, custody holds ${sqliteBytes()} under the tag "sqlite"`);

let kept: Value | undefined;
createFunction(db, "metres", 1, (cm) => {
  kept = cm;
  return (valueOf(cm) as number) / 100;
});
createCollation(db, "nocase_js", (a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
console.log(query(db, "select name, metres(wingspan) as m from birds order by name collate nocase_js"));
try {
  valueOf(kept!);
} catch (error) {
  console.log(`a UDF argument kept past its call: ${(error as CustodyError).code}`);
}

const statement = prepare(db, "select count(*) from birds where wingspan > ?", [100]);
const expanded = f.sqlite3_expanded_sql(statement)!; // SQLite allocated it; sqlite3_free frees it, once
console.log(`a statement (${statement.state} of its connection) expands to: ${string(expanded.address)}`);
expanded.release();

using main = newString("main");
const copy = openDatabase(":memory:");
const backup = f.custody_sqlite_backup_init(copy, main, db, main)!;
db.release(); // the source: invalid to JS now, closed once the backup is finished
console.log(`released the source during a backup: connection valid ${isValid(db)}, statement valid ${isValid(statement)}`);
f.sqlite3_backup_step(backup, -1);
f.custody_sqlite_backup_finish(backup);
console.log(`the copy: ${JSON.stringify(query(copy, "select count(*) as birds from birds"))}`);
try {
  f.sqlite3_step(statement);
} catch (error) {
  console.log(`stepping a statement of the closed connection: ${(error as CustodyError).code}`);
}
copy.release();

const after = stats();
console.log(`the tracked allocator meanwhile, SQLite's blocks and custody's own: ${after.totalAllocs - before.totalAllocs} allocations, ${after.totalBytes - before.totalBytes} bytes, peak ${after.peakBytes} bytes`);
console.log(`left: ${sqliteBytes()} bytes under "sqlite"; violations: ${violationCount() - violationsBefore}`);
