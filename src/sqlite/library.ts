/**
 * The system's SQLite, bound through custody: the declaration says, for every function,
 * what it does to ownership, and SQLite allocates through custody's tracked allocator.
 *
 * - A connection owns its prepared statements, blobs and backups: they are its children.
 *   Releasing the connection invalidates them first, then its destructor
 *   (`custody_sqlite_close`) finalizes what is still open and closes it.
 * - A statement is finalized exactly once: by `sqlite3_finalize` (which invalidates the
 *   wrapper) or with its connection, never both.
 * - A backup is a child of its destination and keeps its source alive: releasing the source
 *   meanwhile invalidates the wrapper at once, but closes the connection only once the
 *   backup is finished.
 * - A UDF's context and argument values die when the callback returns (invalidate-after-use).
 * - Strings SQLite allocates (`sqlite3_expanded_sql`) are owned by JS and freed by `sqlite3_free`.
 *
 * The functions come from `libcustody_sqlite` (built by `make build`, zig/sqlite/), which
 * links the system's libsqlite3: its own few functions fill in what FFI cannot do (see its
 * notes), and every `sqlite3_*` symbol resolves to libsqlite3 through it.
 *
 * @module
 */
import { bind } from "../bindings/bind.ts";
import type { Declaration } from "../bindings/declaration.ts";
import { CustodyError } from "../errors.ts";
import { runtime } from "../ffi/mod.ts";
import { libraryPath } from "../native/library.ts";

/** The environment variable that overrides where libcustody_sqlite is loaded from. */
export const sqliteLibraryVariable = "CUSTODY_SQLITE_LIB";

/** Where libcustody_sqlite is: `CUSTODY_SQLITE_LIB`, else next to libcustody. */
export function sqliteLibraryPath(): string {
  const override = runtime.env(sqliteLibraryVariable);
  if (override !== undefined && override !== "") return override;
  return libraryPath().replace(/[^/]*$/, runtime.sharedLibraryName("custody_sqlite"));
}

const text = "pointer";
const connection = { object: "Connection" } as const;
const statement = { object: "Statement" } as const;
const blob = { object: "Blob" } as const;
const value = { object: "Value" } as const;
const context = { object: "Context" } as const;

/** SQLite's declaration: the types and the functions custody binds. */
export const sqliteDeclaration = {
  types: {
    Connection: { destructor: "custody_sqlite_close", allocationTag: "sqlite" },
    Statement: { destructor: "sqlite3_finalize", allocationTag: "sqlite" },
    Blob: { destructor: "custody_sqlite_blob_close", allocationTag: "sqlite" },
    Backup: { destructor: "custody_sqlite_backup_finish", allocationTag: "sqlite" },
    SqliteString: { destructor: "sqlite3_free", allocationTag: "sqlite" },
    Context: {},
    Value: {},
  },
  functions: {
    custody_sqlite_route_allocations: { parameters: [], result: "i32" },
    custody_sqlite_tag: { parameters: [], result: "u32" },
    sqlite3_libversion_number: { parameters: [], result: "i32" },
    sqlite3_memory_used: { parameters: [], result: "i64" },

    // Connections.
    custody_sqlite_open: { parameters: [text, "i32"], result: { object: "Connection", ownership: "own" } },
    sqlite3_errcode: { parameters: [connection], result: "i32" },
    sqlite3_errmsg: { parameters: [connection], result: "pointer" },
    sqlite3_changes: { parameters: [connection], result: "i32" },
    sqlite3_last_insert_rowid: { parameters: [connection], result: "i64" },
    sqlite3_get_autocommit: { parameters: [connection], result: "i32" },

    // Statements: children of their connection, finalized once.
    custody_sqlite_prepare: { parameters: [connection, text, "i32"], result: { object: "Statement", ownership: "child", of: 0 } },
    sqlite3_finalize: { parameters: [{ object: "Statement", invalidates: true }], result: "i32" },
    sqlite3_step: { parameters: [statement], result: "i32" },
    sqlite3_reset: { parameters: [statement], result: "i32" },
    sqlite3_clear_bindings: { parameters: [statement], result: "i32" },
    sqlite3_bind_parameter_count: { parameters: [statement], result: "i32" },
    sqlite3_bind_int64: { parameters: [statement, "i32", "i64"], result: "i32" },
    sqlite3_bind_double: { parameters: [statement, "i32", "f64"], result: "i32" },
    sqlite3_bind_null: { parameters: [statement, "i32"], result: "i32" },
    sqlite3_bind_zeroblob: { parameters: [statement, "i32", "i32"], result: "i32" },
    custody_sqlite_bind_text: { parameters: [statement, "i32", text, "i32"], result: "i32" },
    sqlite3_column_count: { parameters: [statement], result: "i32" },
    sqlite3_column_name: { parameters: [statement, "i32"], result: "pointer" },
    sqlite3_column_type: { parameters: [statement, "i32"], result: "i32" },
    sqlite3_column_int64: { parameters: [statement, "i32"], result: "i64" },
    sqlite3_column_double: { parameters: [statement, "i32"], result: "f64" },
    sqlite3_column_text: { parameters: [statement, "i32"], result: "pointer" },
    sqlite3_column_bytes: { parameters: [statement, "i32"], result: "i32" },
    sqlite3_db_handle: { parameters: [statement], result: { object: "Connection", ownership: "known" } },
    sqlite3_expanded_sql: { parameters: [statement], result: { object: "SqliteString", ownership: "own" } },
    sqlite3_free: { parameters: [{ object: "SqliteString", invalidates: true }], result: "void" },

    // Incremental blob I/O: children of their connection.
    custody_sqlite_blob_open: {
      parameters: [connection, text, text, text, "i64", "i32"],
      result: { object: "Blob", ownership: "child", of: 0 },
    },
    custody_sqlite_blob_close: { parameters: [{ object: "Blob", invalidates: true }], result: "i32" },
    sqlite3_blob_bytes: { parameters: [blob], result: "i32" },
    sqlite3_blob_read: { parameters: [blob, "pointer", "i32", "i32"], result: "i32" },
    sqlite3_blob_write: { parameters: [blob, "pointer", "i32", "i32"], result: "i32" },
    sqlite3_blob_reopen: { parameters: [blob, "i64"], result: "i32" },

    // Online backup: a child of the destination that keeps the source alive.
    custody_sqlite_backup_init: {
      // The source stays alive while the backup runs: libcustody_sqlite takes the registry
      // keep-alive itself, since only native code sees the backup finish with its destination.
      parameters: [connection, text, connection, text],
      result: { object: "Backup", ownership: "child", of: 0 },
    },
    custody_sqlite_backup_finish: { parameters: [{ object: "Backup", invalidates: true }], result: "i32" },
    sqlite3_backup_step: { parameters: [{ object: "Backup" }, "i32"], result: "i32" },
    sqlite3_backup_remaining: { parameters: [{ object: "Backup" }], result: "i32" },
    sqlite3_backup_pagecount: { parameters: [{ object: "Backup" }], result: "i32" },

    // User-defined functions: the context and the values die when the callback returns.
    sqlite3_create_function_v2: {
      parameters: [
        connection,
        text,
        "i32",
        "i32",
        "pointer",
        { callback: { parameters: [context, "i32", "pointer"], result: "void" } },
        "pointer",
        "pointer",
        "pointer",
      ],
      result: "i32",
    },
    custody_sqlite_argument: { parameters: [context, "i32", "pointer", "i32"], result: { object: "Value", ownership: "child", of: 0 } },
    sqlite3_value_type: { parameters: [value], result: "i32" },
    sqlite3_value_int64: { parameters: [value], result: "i64" },
    sqlite3_value_double: { parameters: [value], result: "f64" },
    sqlite3_value_text: { parameters: [value], result: "pointer" },
    sqlite3_value_bytes: { parameters: [value], result: "i32" },
    sqlite3_result_int64: { parameters: [context, "i64"], result: "void" },
    sqlite3_result_double: { parameters: [context, "f64"], result: "void" },
    sqlite3_result_null: { parameters: [context], result: "void" },
    custody_sqlite_result_text: { parameters: [context, text, "i32"], result: "void" },
    sqlite3_result_error: { parameters: [context, text, "i32"], result: "void" },

    // Collations: the two strings are read during the callback.
    sqlite3_create_collation_v2: {
      parameters: [
        connection,
        text,
        "i32",
        "pointer",
        { callback: { parameters: ["pointer", "i32", "pointer", "i32", "pointer"], result: "i32" } },
        "pointer",
      ],
      result: "i32",
    },
  },
} as const satisfies Declaration;

function open() {
  const path = sqliteLibraryPath();
  let binding;
  try {
    binding = bind(path, sqliteDeclaration);
  } catch (cause) {
    throw new CustodyError(
      "NOT_FOUND",
      `Cannot load SQLite through ${path}: run \`make build\` (it needs the system's libsqlite3.so.0) or set ${sqliteLibraryVariable}`,
      { cause },
    );
  }
  // Before SQLite initializes itself: afterwards its allocator can no longer change.
  const status = binding.functions.custody_sqlite_route_allocations();
  if (status !== 0) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot route SQLite's allocations through custody: sqlite3_config returned ${status}`);
  }
  return binding;
}

/**
 * The bound SQLite library, loaded on first import, its allocations routed through
 * custody's tracked allocator under the tag `"sqlite"`.
 *
 * @example
 * ```ts
 * import { sqlite } from "./library.ts";
 * console.log(sqlite.functions.sqlite3_libversion_number() >= 3_000_000); // true
 * ```
 */
export const sqlite = open();
