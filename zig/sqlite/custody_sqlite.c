/*
 * libcustody_sqlite: the little native glue custody needs to bind the system's SQLite.
 *
 * 1. Routing SQLite's allocations through custody's tracked allocator. That takes
 *    sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) before sqlite3_initialize(), and
 *    sqlite3_config is variadic, which neither Deno's nor Bun's FFI can call portably.
 * 2. Three SQLite constructors report their object through an out-parameter
 *    (sqlite3 **, sqlite3_stmt **, sqlite3_blob **); these return it instead, so that a
 *    declaration can say who owns the result.
 * 3. A UDF's arguments arrive as an array (sqlite3_value **): custody_sqlite_argument
 *    returns one of them, so that it can be declared a child of the call's context and
 *    die with it when the callback returns.
 * 4. Text given to SQLite is copied (SQLITE_TRANSIENT, the pointer -1, which JS numbers
 *    cannot hold).
 * 5. A connection owns its statements, blobs and backups (custody declares them its
 *    children), so its destructor, custody_sqlite_close, finalizes what is still open and
 *    then closes it: sqlite3_close_v2 alone would leave a zombie connection and the
 *    statements allocated. SQLite lists a connection's statements (sqlite3_next_stmt) but
 *    not its blobs or backups, so those are opened and closed through here, which lists them.
 *
 * It includes no sqlite3.h: a machine with only the runtime package (Debian's libsqlite3-0)
 * can build it. The prototypes below are SQLite's stable C API.
 */
#include <stddef.h>
#include <stdint.h>

/* custody (zig/include/custody.h) */
int64_t custody_intern(const char *text, size_t len);
uint32_t custody_set_thread_tag(uint32_t tag);
void *custody_alloc_tagged(size_t size, size_t alignment, uint32_t tag);
void *custody_realloc(void *pointer, size_t size);
void custody_free(void *pointer);
int64_t custody_block_size(const void *pointer);
typedef struct custody_handle {
    uint32_t slot;
    uint32_t generation;
} custody_handle;
int32_t custody_capsule_find(size_t pointer, uint32_t type_name, custody_handle *out);
int32_t custody_capsule_keep_alive(uint32_t slot, uint32_t generation);
int32_t custody_capsule_drop_keep_alive(uint32_t slot, uint32_t generation);

/* SQLite (sqlite3.h) */
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
typedef struct sqlite3_blob sqlite3_blob;
typedef struct sqlite3_value sqlite3_value;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_backup sqlite3_backup;
typedef struct sqlite3_mem_methods {
    void *(*xMalloc)(int);
    void (*xFree)(void *);
    void *(*xRealloc)(void *, int);
    int (*xSize)(void *);
    int (*xRoundup)(int);
    int (*xInit)(void *);
    void (*xShutdown)(void *);
    void *pAppData;
} sqlite3_mem_methods;
int sqlite3_config(int, ...);
int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int bytes, sqlite3_stmt **stmt, const char **tail);
int sqlite3_blob_open(sqlite3 *db, const char *schema, const char *table, const char *column, int64_t row,
                      int flags, sqlite3_blob **blob);
int sqlite3_blob_close(sqlite3_blob *blob);
sqlite3_backup *sqlite3_backup_init(sqlite3 *destination, const char *destination_name, sqlite3 *source,
                                    const char *source_name);
int sqlite3_backup_finish(sqlite3_backup *backup);
sqlite3_stmt *sqlite3_next_stmt(sqlite3 *db, sqlite3_stmt *stmt);
int sqlite3_finalize(sqlite3_stmt *stmt);
int sqlite3_close_v2(sqlite3 *db);
int sqlite3_bind_text(sqlite3_stmt *stmt, int index, const char *text, int bytes, void (*destructor)(void *));
void sqlite3_result_text(sqlite3_context *context, const char *text, int bytes, void (*destructor)(void *));
#define SQLITE_CONFIG_MALLOC 4
#define SQLITE_TRANSIENT ((void (*)(void *))-1)

/* Every block SQLite allocates carries this tag, so leak reports and stats tell them apart. */
static uint32_t sqlite_tag;
static int routed;

static void *sq_malloc(int size) {
    return size < 0 ? NULL : custody_alloc_tagged((size_t)size, 16, sqlite_tag);
}
static void sq_free(void *pointer) { custody_free(pointer); }
static void *sq_realloc(void *pointer, int size) {
    if (size < 0) return NULL;
    /* custody_realloc tags a moved block with the thread's tag. */
    uint32_t previous = custody_set_thread_tag(sqlite_tag);
    void *moved = custody_realloc(pointer, (size_t)size);
    custody_set_thread_tag(previous);
    return moved;
}
static int sq_size(void *pointer) {
    int64_t size = custody_block_size(pointer);
    return size < 0 ? 0 : (int)size;
}
static int sq_roundup(int size) { return (size + 15) & ~15; }
static int sq_init(void *context) { (void)context; return 0; }
static void sq_shutdown(void *context) { (void)context; }

static const sqlite3_mem_methods methods = {
    sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init, sq_shutdown, NULL,
};

/* Points SQLite's allocator at custody. 0 on success; SQLITE_MISUSE (21) once SQLite has
 * been initialized with another allocator. Calling it again after success is a no-op. */
int custody_sqlite_route_allocations(void) {
    if (routed) return 0;
    sqlite_tag = (uint32_t)custody_intern("sqlite", 6);
    int status = sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
    if (status == 0) routed = 1;
    return status;
}

/* The allocator tag of SQLite's blocks ("sqlite"), or 0 before routing. */
uint32_t custody_sqlite_tag(void) { return sqlite_tag; }

/* sqlite3_open_v2, returning the connection. As with sqlite3_open_v2, a connection comes
 * back even when opening failed (sqlite3_errcode says why) and must be closed; NULL only
 * when SQLite could not allocate one. */
sqlite3 *custody_sqlite_open(const char *filename, int flags) {
    sqlite3 *db = NULL;
    (void)sqlite3_open_v2(filename, &db, flags, NULL);
    return db;
}

/* sqlite3_prepare_v2, returning the statement: NULL on error (sqlite3_errcode(db) says
 * which) or for SQL that holds no statement. */
sqlite3_stmt *custody_sqlite_prepare(sqlite3 *db, const char *sql, int bytes) {
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, bytes, &stmt, NULL) != 0) return NULL;
    return stmt;
}

/* The open blobs and backups, each with the connection it belongs to (its destination, for a
 * backup). Used from the JS thread only, as SQLite handles are. */
struct open_handle {
    struct open_handle *next;
    sqlite3 *db;
    void *handle;
    int is_backup;
    /* A backup's source connection, kept alive in custody's registry until the backup is
     * finished: only native code knows when that is (also when the destination's
     * destructor finishes it), so the keep-alive is taken and dropped here. {0, 0}: none. */
    custody_handle source;
};
static struct open_handle *open_handles;

/* Finishes or closes a listed handle, then lets its backup's source go. */
static int end_handle(struct open_handle *node) {
    int status = node->is_backup ? sqlite3_backup_finish(node->handle) : sqlite3_blob_close(node->handle);
    custody_handle source = node->source;
    custody_free(node);
    if (source.generation != 0) custody_capsule_drop_keep_alive(source.slot, source.generation);
    return status;
}

static void *track(sqlite3 *db, void *handle, int is_backup, sqlite3 *source) {
    if (handle == NULL) return NULL;
    struct open_handle *node = custody_alloc_tagged(sizeof *node, 16, (uint32_t)custody_intern("custody_sqlite", 14));
    if (node == NULL) {
        if (is_backup) sqlite3_backup_finish(handle);
        else sqlite3_blob_close(handle);
        return NULL;
    }
    *node = (struct open_handle){ open_handles, db, handle, is_backup, { 0, 0 } };
    custody_handle found;
    if (source != NULL && custody_capsule_find((size_t)source, (uint32_t)custody_intern("Connection", 10), &found) == 0 &&
        custody_capsule_keep_alive(found.slot, found.generation) == 0) {
        node->source = found;
    }
    open_handles = node;
    return handle;
}

/* Takes `handle` off the list and ends it; SQLITE_MISUSE (21) if it was not there. */
static int untrack(void *handle) {
    for (struct open_handle **link = &open_handles; *link != NULL; link = &(*link)->next) {
        if ((*link)->handle != handle) continue;
        struct open_handle *node = *link;
        *link = node->next;
        return end_handle(node);
    }
    return 21;
}

/* sqlite3_blob_open, returning the blob handle: NULL on error (sqlite3_errcode(db)). */
sqlite3_blob *custody_sqlite_blob_open(sqlite3 *db, const char *schema, const char *table, const char *column,
                                       int64_t row, int flags) {
    sqlite3_blob *blob = NULL;
    if (sqlite3_blob_open(db, schema, table, column, row, flags, &blob) != 0) return NULL;
    return track(db, blob, 0, NULL);
}

/* sqlite3_blob_close for a blob opened by custody_sqlite_blob_open. */
int custody_sqlite_blob_close(sqlite3_blob *blob) {
    return untrack(blob);
}

/* sqlite3_backup_init, listed with its destination connection; the source connection is
 * kept alive in custody's registry (when custody holds it) until the backup is finished. */
sqlite3_backup *custody_sqlite_backup_init(sqlite3 *destination, const char *destination_name, sqlite3 *source,
                                           const char *source_name) {
    return track(destination, sqlite3_backup_init(destination, destination_name, source, source_name), 1, source);
}

/* sqlite3_backup_finish for a backup made by custody_sqlite_backup_init. */
int custody_sqlite_backup_finish(sqlite3_backup *backup) {
    return untrack(backup);
}

/* The connection's destructor: finishes its backups, closes its blobs, finalizes its
 * statements, then closes it. */
void custody_sqlite_close(sqlite3 *db) {
    for (struct open_handle **link = &open_handles; *link != NULL;) {
        struct open_handle *node = *link;
        if (node->db != db) {
            link = &node->next;
            continue;
        }
        *link = node->next;
        end_handle(node);
        link = &open_handles; /* ending a backup may close its source, which edits the list */
    }
    sqlite3_stmt *stmt;
    while ((stmt = sqlite3_next_stmt(db, NULL)) != NULL) sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
}

/* argv[index] of a UDF call, or NULL when index is out of range. The context parameter is
 * unused: it is there so a declaration can make the value a child of the call's context. */
sqlite3_value *custody_sqlite_argument(sqlite3_context *context, int count, sqlite3_value **values, int index) {
    (void)context;
    if (values == NULL || index < 0 || index >= count) return NULL;
    return values[index];
}

/* sqlite3_bind_text and sqlite3_result_text with SQLITE_TRANSIENT: SQLite copies the text. */
int custody_sqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text, int bytes) {
    return sqlite3_bind_text(stmt, index, text, bytes, SQLITE_TRANSIENT);
}
void custody_sqlite_result_text(sqlite3_context *context, const char *text, int bytes) {
    sqlite3_result_text(context, text, bytes, SQLITE_TRANSIENT);
}
