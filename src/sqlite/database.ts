/**
 * A few conveniences over the bound SQLite functions ({@linkcode sqlite}): open, run and
 * query SQL, and register JS functions and collations. Every object they hand out is a
 * custody wrapper, so the ownership rules of the declaration hold for them too.
 *
 * @example
 * ```ts
 * import { openDatabase, query, run } from "./database.ts";
 * using db = openDatabase(":memory:");
 * run(db, "create table t(x)");
 * run(db, "insert into t values (?), (?)", [1, 2]);
 * console.log(query(db, "select sum(x) as total from t")); // [ { total: 3 } ]
 * ```
 *
 * @module
 */
import { attach } from "../ownership/wrapper.ts";
import { closeCallback } from "../bindings/callbacks.ts";
import type { Wrapper } from "../bindings/bind.ts";
import { CustodyError } from "../errors.ts";
import { newString, string } from "../memory/strings.ts";
import { sqlite } from "./library.ts";

/** A connection: JS owns it. */
export type Connection = Wrapper<"Connection">;
/** A prepared statement: a child of its connection. */
export type Statement = Wrapper<"Statement">;
/** A UDF call's context: valid during the call. */
export type Context = Wrapper<"Context">;
/** A UDF call's argument: a child of the context, valid during the call. */
export type Value = Wrapper<"Value">;

/** A value SQL stores: INTEGER and REAL as numbers, TEXT as strings, NULL as null. */
export type SqlValue = number | string | null;

const f = sqlite.functions;
const OPEN_READWRITE = 0x2, OPEN_CREATE = 0x4, OPEN_URI = 0x40;
const ROW = 100, DONE = 101;
const INTEGER = 1, FLOAT = 2, NULL = 5;
const UTF8 = 1, DETERMINISTIC = 0x800;

function failure(db: Connection, action: string): never {
  throw new CustodyError("INVALID_ARGUMENT", `Cannot ${action}: SQLite says ${string(f.sqlite3_errmsg(db))} (${f.sqlite3_errcode(db)})`);
}

/**
 * Opens a connection JS owns (`release()`, `using` or the garbage collector closes it, and
 * its statements with it).
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` when SQLite cannot open it.
 */
export function openDatabase(filename: string): Connection {
  using name = newString(filename);
  const db = f.custody_sqlite_open(name, OPEN_READWRITE | OPEN_CREATE | OPEN_URI);
  if (db === null) throw new CustodyError("OUT_OF_MEMORY", `Cannot open ${filename}: SQLite could not allocate a connection`);
  if (f.sqlite3_errcode(db) !== 0) {
    const message = string(f.sqlite3_errmsg(db));
    db.release();
    throw new CustodyError("INVALID_ARGUMENT", `Cannot open ${filename}: SQLite says ${message}`);
  }
  return db;
}

/**
 * Prepares one statement: a child of `db`, finalized by `sqlite3_finalize` or with `db`.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for SQL SQLite refuses or that holds no statement.
 */
export function prepare(db: Connection, sql: string, parameters: readonly SqlValue[] = []): Statement {
  using text = newString(sql);
  const statement = f.custody_sqlite_prepare(db, text, -1);
  if (statement === null) {
    if (f.sqlite3_errcode(db) === 0) throw new CustodyError("INVALID_ARGUMENT", `Cannot prepare ${JSON.stringify(sql)}: it holds no statement`);
    failure(db, `prepare ${JSON.stringify(sql)}`);
  }
  parameters.forEach((value, i) => bindValue(db, statement, i + 1, value));
  return statement;
}

function bindValue(db: Connection, statement: Statement, index: number, value: SqlValue): void {
  let status: number;
  if (value === null) status = f.sqlite3_bind_null(statement, index);
  else if (typeof value === "number") {
    status = Number.isInteger(value) ? f.sqlite3_bind_int64(statement, index, value) : f.sqlite3_bind_double(statement, index, value);
  } else {
    using text = newString(value);
    status = f.custody_sqlite_bind_text(statement, index, text, -1);
  }
  if (status !== 0) failure(db, `bind parameter ${index}`);
}

/** How to read a value where SQLite keeps it: a statement's result column, or a UDF's argument. */
interface Getters<Source> {
  type(source: Source, index: number): number;
  integer(source: Source, index: number): number;
  real(source: Source, index: number): number;
  bytes(source: Source, index: number): number;
  text(source: Source, index: number): number;
}

const columnGetters: Getters<Statement> = {
  type: (statement, index) => f.sqlite3_column_type(statement, index),
  integer: (statement, index) => f.sqlite3_column_int64(statement, index),
  real: (statement, index) => f.sqlite3_column_double(statement, index),
  bytes: (statement, index) => f.sqlite3_column_bytes(statement, index),
  text: (statement, index) => f.sqlite3_column_text(statement, index),
};

const argumentGetters: Getters<Value> = {
  type: (value) => f.sqlite3_value_type(value),
  integer: (value) => f.sqlite3_value_int64(value),
  real: (value) => f.sqlite3_value_double(value),
  bytes: (value) => f.sqlite3_value_bytes(value),
  text: (value) => f.sqlite3_value_text(value),
};

/** The JS value of `source`'s value at `index`, by its SQLite type. */
function decode<Source>(getters: Getters<Source>, source: Source, index: number): SqlValue {
  switch (getters.type(source, index)) {
    case INTEGER:
      return getters.integer(source, index);
    case FLOAT:
      return getters.real(source, index);
    case NULL:
      return null;
    default: {
      const bytes = getters.bytes(source, index);
      return bytes === 0 ? "" : string(getters.text(source, index), bytes);
    }
  }
}

/** Steps `statement` to its end, collecting its rows as objects keyed by column name. */
export function rows(db: Connection, statement: Statement): Record<string, SqlValue>[] {
  const result: Record<string, SqlValue>[] = [];
  const count = f.sqlite3_column_count(statement);
  const names = Array.from({ length: count }, (_, i) => string(f.sqlite3_column_name(statement, i)));
  for (;;) {
    const status = f.sqlite3_step(statement);
    if (status === DONE) return result;
    if (status !== ROW) failure(db, "step");
    result.push(Object.fromEntries(names.map((name, i) => [name, decode(columnGetters, statement, i)])));
  }
}

/** Runs one statement and returns its rows; the statement is finalized either way. */
export function query(db: Connection, sql: string, parameters: readonly SqlValue[] = []): Record<string, SqlValue>[] {
  const statement = prepare(db, sql, parameters);
  try {
    return rows(db, statement);
  } finally {
    f.sqlite3_finalize(statement);
  }
}

/** Runs one statement for its effect; returns the number of rows it changed. */
export function run(db: Connection, sql: string, parameters: readonly SqlValue[] = []): number {
  query(db, sql, parameters);
  return f.sqlite3_changes(db);
}

/** The JS value of a UDF argument, read while it is valid (during the callback). */
export function valueOf(value: Value): SqlValue {
  return decode(argumentGetters, value, 0);
}

function setResult(context: Context, result: SqlValue): void {
  if (result === null) f.sqlite3_result_null(context);
  else if (typeof result === "number") {
    if (Number.isInteger(result)) f.sqlite3_result_int64(context, result);
    else f.sqlite3_result_double(context, result);
  } else {
    using text = newString(result);
    f.custody_sqlite_result_text(context, text, -1);
  }
}

/**
 * Registers a deterministic SQL function `name` of `arity` arguments. `fn` receives the
 * arguments as wrappers ({@linkcode Value}, read them with {@linkcode valueOf}): they and the
 * call's context are invalid once it returns. A throw becomes the SQL error of the statement.
 * The callback closes when the connection dies, or when the function is registered again.
 */
export function createFunction(db: Connection, name: string, arity: number, fn: (...args: Value[]) => SqlValue): void {
  const callback = (context: Context | null, count: number, values: number) => {
    const args = Array.from({ length: count }, (_, i) => f.custody_sqlite_argument(context!, count, values, i)!);
    try {
      setResult(context!, fn(...args));
    } catch (error) {
      using message = newString(error instanceof Error ? error.message : String(error));
      f.sqlite3_result_error(context!, message, -1);
    }
  };
  using text = newString(name);
  const status = f.sqlite3_create_function_v2(db, text, arity, UTF8 | DETERMINISTIC, 0, callback, 0, 0, 0);
  if (status !== 0) {
    closeCallback(callback);
    failure(db, `create the function ${name}`);
  }
  // SQLite replaces a function of the same name and arity: so does the attachment's slot.
  attach(db, `sqlite function ${name}/${arity}`, { close: () => closeCallback(callback) });
}

/**
 * Registers the collation `name`: `compare` gets two strings (copied out of SQLite's memory
 * during the call) and returns a negative number, zero or a positive number.
 */
export function createCollation(db: Connection, name: string, compare: (a: string, b: string) => number): void {
  const callback = (_: number, lengthA: number, a: number, lengthB: number, b: number) =>
    Math.sign(compare(lengthA === 0 ? "" : string(a, lengthA), lengthB === 0 ? "" : string(b, lengthB)));
  using text = newString(name);
  const status = f.sqlite3_create_collation_v2(db, text, UTF8, 0, callback, 0);
  if (status !== 0) {
    closeCallback(callback);
    failure(db, `create the collation ${name}`);
  }
  attach(db, `sqlite collation ${name}`, { close: () => closeCallback(callback) });
}
