/*
 * custody.h: the C ABI of libcustody (ABI version 1).
 *
 * libcustody holds two process-wide services behind one shared library: a tracked
 * allocator and a capsule registry. JavaScript (Deno.dlopen, bun:ffi) and any native
 * library linked against libcustody.so see the same instance of both, so a block that a
 * C library allocates through its malloc hook can be freed from JS, and an object that JS
 * registers can be reported destroyed by native code.
 *
 * Handles. A capsule is named by a (slot, generation) pair of uint32_t, passed as two
 * plain integers and returned through a custody_handle out pointer. A slot's generation is
 * odd while an object lives in it and even after it died, so checking a handle means
 * comparing its generation with the slot's current one. The zero handle {0, 0} means "no
 * capsule". Freed slots are reused oldest first, and a slot whose generation would wrap is
 * retired, so an old handle never matches a newer object even at a reused address.
 *
 * The generation table. custody_generations() returns an array of capacity + 1 uint32_t
 * that is allocated once and never moves or shrinks, so a caller may keep the pointer and
 * test liveness without a call (gens[h.slot] == h.generation). That test is only a hint:
 * every registry function validates the handle again under the registry lock.
 *
 * Destruction. Destroying a capsule destroys its whole subtree. All handles in it turn
 * stale first, children before parents; then, with no lock held, the destructors run in
 * that same order (children first), each exactly once, on the calling thread. A destructor
 * may therefore call back into libcustody. A capsule with keep-alives is invalidated at
 * once, but its destructor is deferred until the last keep-alive is dropped. When native
 * code destroys an object itself it calls custody_notify_destroyed (or the _address
 * variant), from any thread: the capsule's own destructor is skipped, its descendants'
 * destructors still run.
 *
 * The allocator. custody_malloc and friends surround each block with guard bytes, keep
 * their bookkeeping outside the block, and hold freed blocks in a bounded, poisoned
 * quarantine. Double frees, invalid or interior frees, overruns, underruns and writes
 * after free are counted in the stats block and recorded in a bounded event log; the bad
 * call is then ignored. Nothing in libcustody aborts on bad input: failures are reported
 * as NULL, a negative status, or an event.
 *
 * Conventions. Functions that can fail return an int32_t (or int64_t) status: 0 or a
 * non-negative result on success, a negative CUSTODY_* status on failure
 * (custody_status_name turns it into a stable string). Every function is thread-safe.
 * The registry is created lazily with CUSTODY_DEFAULT_CAPACITY slots unless
 * custody_registry_init ran first; if that lazy creation fails, registry functions
 * return CUSTODY_OUT_OF_MEMORY. Object addresses are passed to the registry as size_t
 * integers: cast with (size_t)(uintptr_t)ptr.
 *
 * Three types share their name with a function (custody_stats, custody_alloc_config,
 * custody_capsule_info). C keeps typedef and function names in one namespace, so those
 * three are struct tags only: write `struct custody_stats`.
 *
 * Example: route a C library's allocations through custody.
 *
 *     #include "custody.h"
 *
 *     // cJSON's hooks have the malloc/free shape already.
 *     cJSON_Hooks hooks = { custody_malloc, custody_free };
 *     cJSON_InitHooks(&hooks);
 *
 *     // zlib passes an opaque pointer and two counts.
 *     static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
 *     { (void)opaque; return custody_calloc(items, size); }
 *     static void z_free(voidpf opaque, voidpf p) { (void)opaque; custody_free(p); }
 *     stream.zalloc = z_alloc; stream.zfree = z_free; stream.opaque = Z_NULL;
 *
 *     // sqlite3 wants int sizes and a size query; call this before sqlite3_initialize().
 *     static void *sq_malloc(int n) { return custody_malloc((size_t)n); }
 *     static void sq_free(void *p) { custody_free(p); }
 *     static void *sq_realloc(void *p, int n) { return custody_realloc(p, (size_t)n); }
 *     static int sq_size(void *p) { int64_t n = custody_block_size(p); return n < 0 ? 0 : (int)n; }
 *     static int sq_roundup(int n) { return (n + 7) & ~7; }
 *     static int sq_init(void *a) { (void)a; return 0; }
 *     static void sq_shutdown(void *a) { (void)a; }
 *     static const sqlite3_mem_methods methods = {
 *         sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init, sq_shutdown, 0 };
 *     sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
 *
 *     // Tag what this thread allocates, to tell the libraries apart in leak reports.
 *     custody_set_thread_tag((uint32_t)custody_intern("sqlite", 6));
 *
 * Example: register an object, then tell custody native code destroyed it.
 *
 *     static void widget_destroy(void *pointer, void *context)
 *     { (void)context; widget_free((struct widget *)pointer); }
 *
 *     uint32_t type = (uint32_t)custody_intern("widget", 6);
 *     struct widget *w = widget_new();
 *     custody_handle h;
 *     if (custody_capsule_create((size_t)(uintptr_t)w, type, widget_destroy, NULL,
 *                                0, 0, &h) != CUSTODY_OK) { ... }
 *     // ... JS holds (h.slot, h.generation) ...
 *     // The library freed w on its own (any thread): invalidate, skip widget_destroy.
 *     custody_notify_destroyed(h.slot, h.generation);
 *     // or, knowing only the address:
 *     custody_notify_destroyed_address((size_t)(uintptr_t)w);
 *     // Had custody owned w, custody_capsule_destroy(h.slot, h.generation) would have
 *     // run widget_destroy once, after the destructors of any children.
 */
#ifndef CUSTODY_H
#define CUSTODY_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ---- */

/* What custody_version() returns for the ABI described here. */
#define CUSTODY_ABI_VERSION 1u
/* Registry capacity used when custody_registry_init was not called first. */
#define CUSTODY_DEFAULT_CAPACITY (1u << 22)
/* type_name for custody_capsule_find that matches every type. */
#define CUSTODY_ANY_TYPE 0xFFFFFFFFu
/* Id 0 is the null name: distinct from every interned string, including "". */
#define CUSTODY_NULL_NAME 0u
/* Longest text custody_intern accepts. */
#define CUSTODY_MAX_NAME_LEN 4096u
/* Largest alignment the allocator accepts (a power of two). */
#define CUSTODY_MAX_ALIGNMENT 65536u
/* Largest custody_alloc_config.canary_size. */
#define CUSTODY_MAX_CANARY 1024u
/* Byte written to guard areas around each block. */
#define CUSTODY_GUARD_BYTE 0xFDu
/* Byte written over freed blocks while they sit in the quarantine. */
#define CUSTODY_POISON_BYTE 0xDDu
/* Number of events the ring keeps; older ones are overwritten. */
#define CUSTODY_EVENT_CAPACITY 1024u

/* ---- status codes ---- */

/* Statuses returned by int32_t / int64_t functions (functions return the integer, not
 * this enum type). custody_status_name(code) gives "STALE_HANDLE" and so on. */
enum custody_status {
    CUSTODY_OK = 0,
    CUSTODY_STALE_HANDLE = -1,        /* the handle named an object that is gone */
    CUSTODY_FORGED_HANDLE = -2,       /* slot never issued, or a generation never issued */
    CUSTODY_NAME_MISMATCH = -3,       /* type_name differs from the one at creation */
    CUSTODY_CYCLE = -4,               /* the new parent is the capsule or a descendant */
    CUSTODY_TABLE_FULL = -5,          /* every slot is live or retired */
    CUSTODY_NULL_POINTER = -6,        /* a required pointer (or object address) was 0 */
    CUSTODY_OUT_OF_MEMORY = -7,
    CUSTODY_NOT_FOUND = -8,           /* no live capsule at that address / of that type */
    CUSTODY_NOT_KEPT_ALIVE = -9,      /* drop_keep_alive without a matching keep_alive */
    CUSTODY_INVALID_ARGUMENT = -10,
    CUSTODY_ALREADY_INITIALIZED = -11, /* registry already exists with another capacity */
    CUSTODY_NAME_TOO_LONG = -12,      /* more than CUSTODY_MAX_NAME_LEN bytes */
    CUSTODY_ALREADY_REGISTERED = -13, /* custody_capsule_register: a live entry exists (its handle is in *out) */
    CUSTODY_ALREADY_OWNED = -14       /* custody_capsule_register: another type's entry at that address has a destructor */
};

/* ---- allocator events ---- */

/* custody_event.kind */
enum custody_event_kind {
    CUSTODY_EVENT_DOUBLE_FREE = 1,
    CUSTODY_EVENT_INVALID_FREE = 2,
    CUSTODY_EVENT_OVERRUN = 3,
    CUSTODY_EVENT_UNDERRUN = 4,
    CUSTODY_EVENT_WRITE_AFTER_FREE = 5
};

/* custody_event.detail: where the problem was found and how the address relates to
 * known blocks. */
enum custody_event_detail {
    CUSTODY_DETAIL_NONE = 0,
    CUSTODY_DETAIL_INTERIOR_POINTER = 1, /* inside a live block; related = its start */
    CUSTODY_DETAIL_UNKNOWN_POINTER = 2,  /* never issued, or freed too long ago */
    CUSTODY_DETAIL_IN_QUARANTINE = 3,    /* block is still quarantined */
    CUSTODY_DETAIL_RECENTLY_FREED = 4,   /* block left the quarantine; found in recent frees */
    CUSTODY_DETAIL_ON_REALLOC = 5,       /* found by custody_realloc */
    CUSTODY_DETAIL_ON_CHECK = 6,         /* found by custody_check_all */
    CUSTODY_DETAIL_ON_EVICT = 7,         /* found as the block left the quarantine */
    CUSTODY_DETAIL_ON_FREE = 8           /* found by custody_free */
};

/* ---- types ---- */

/* A capsule handle. {0, 0} is the null handle. */
typedef struct custody_handle {
    uint32_t slot;
    uint32_t generation;
} custody_handle;

/* Called once with the registered address and the context given with it. Runs on the
 * thread that destroyed the capsule (or dropped its last keep-alive), with no custody
 * lock held. */
typedef void (*custody_destructor)(void *pointer, void *context);

/* Process-wide counters, at a fixed address (custody_stats()). Every field is a uint64_t
 * at offset index * 8. Each field is stored whole (under a lock or atomically), so a field
 * read from another thread is never torn, but the fields are not a consistent snapshot of
 * each other. Read only. */
struct custody_stats {
    /* tracked allocator */
    uint64_t live_count;         /* live blocks */
    uint64_t live_bytes;         /* user bytes in live blocks */
    uint64_t peak_count;
    uint64_t peak_bytes;
    uint64_t total_allocs;
    uint64_t total_frees;
    uint64_t total_bytes;        /* user bytes ever allocated */
    uint64_t failed_allocs;      /* NULL returned: out of memory or malformed request */
    uint64_t quarantine_count;
    uint64_t quarantine_bytes;
    uint64_t double_frees;
    uint64_t invalid_frees;
    uint64_t overruns;
    uint64_t underruns;
    uint64_t writes_after_free;
    uint64_t events_total;       /* events ever recorded = id of the newest event */
    /* capsule registry */
    uint64_t capsules_live;
    uint64_t capsules_peak;
    uint64_t capsules_created;
    uint64_t capsules_destroyed; /* destroyed or notified, subtrees included */
    uint64_t capsules_notified;  /* custody_notify_destroyed calls that succeeded */
    uint64_t destructors_run;
    uint64_t destructors_deferred; /* destructions that waited for keep-alives */
    uint64_t slots_retired;      /* slots whose generation ran out */
    uint64_t stale_handles;
    uint64_t forged_handles;
    uint64_t name_mismatches;
    uint64_t cycles_refused;
    uint64_t table_full;
};

/* One allocator violation (custody_events). */
typedef struct custody_event {
    uint64_t id;        /* 1, 2, 3, ... in order of detection */
    uint32_t kind;      /* enum custody_event_kind */
    uint32_t detail;    /* enum custody_event_detail */
    uint64_t address;   /* the pointer the violation concerns */
    uint64_t size;      /* the block's size, 0 if unknown */
    uint64_t sequence;  /* the block's allocation sequence number, 0 if unknown */
    uint32_t tag;       /* the block's tag */
    uint32_t _reserved; /* always 0 */
    uint64_t related;   /* INTERIOR_POINTER: block start; overrun / underrun / write after
                           free: offset of the first damaged byte (underrun: bytes before
                           the start); otherwise 0 */
} custody_event;

/* One live block (custody_live_blocks). */
typedef struct custody_live_record {
    uint64_t address;
    uint64_t size;
    uint64_t sequence;  /* allocation order, from 1 */
    uint32_t tag;
    uint32_t alignment;
} custody_live_record;

/* Allocator settings (custody_alloc_configure / custody_alloc_config). Defaults are
 * {256, 1 MiB, 16, 1}. */
struct custody_alloc_config {
    uint64_t quarantine_max_count; /* most blocks held after free; 0 disables the quarantine */
    uint64_t quarantine_max_bytes; /* most bytes held; larger blocks skip the quarantine */
    uint32_t canary_size;          /* tail guard bytes for new blocks, 0..1024; 0: no overrun check */
    uint32_t poison;               /* 1: poison freed blocks and verify on eviction; 0: don't */
};

/* What custody_capsule_info reports about a live capsule. */
struct custody_capsule_info {
    uint64_t pointer;        /* the registered address */
    uint64_t destructor;     /* address of the destructor function, 0 if none */
    uint64_t context;        /* the destructor's context */
    uint32_t type_name;      /* interned name id */
    uint32_t owner;          /* caller-defined, 0 unless set */
    custody_handle parent;   /* {0, 0} when there is none */
    uint32_t child_count;    /* direct children */
    uint32_t keep_alive;     /* outstanding keep-alives */
};

/* The layouts above must equal the Zig extern structs (also checked at run time against
 * the custody_*_layout() strings by tests/header_smoke.c). */
#if defined(__cplusplus)
#define CUSTODY_STATIC_ASSERT(condition, message) static_assert(condition, message)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define CUSTODY_STATIC_ASSERT(condition, message) _Static_assert(condition, message)
#endif
#ifdef CUSTODY_STATIC_ASSERT
CUSTODY_STATIC_ASSERT(sizeof(custody_handle) == 8, "custody_handle size");
CUSTODY_STATIC_ASSERT(offsetof(custody_handle, generation) == 4, "custody_handle.generation");
CUSTODY_STATIC_ASSERT(sizeof(struct custody_stats) == 232, "custody_stats size");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_stats, double_frees) == 80, "custody_stats.double_frees");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_stats, events_total) == 120, "custody_stats.events_total");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_stats, capsules_live) == 128, "custody_stats.capsules_live");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_stats, table_full) == 224, "custody_stats.table_full");
CUSTODY_STATIC_ASSERT(sizeof(custody_event) == 56, "custody_event size");
CUSTODY_STATIC_ASSERT(offsetof(custody_event, kind) == 8, "custody_event.kind");
CUSTODY_STATIC_ASSERT(offsetof(custody_event, address) == 16, "custody_event.address");
CUSTODY_STATIC_ASSERT(offsetof(custody_event, tag) == 40, "custody_event.tag");
CUSTODY_STATIC_ASSERT(offsetof(custody_event, related) == 48, "custody_event.related");
CUSTODY_STATIC_ASSERT(sizeof(custody_live_record) == 32, "custody_live_record size");
CUSTODY_STATIC_ASSERT(offsetof(custody_live_record, tag) == 24, "custody_live_record.tag");
CUSTODY_STATIC_ASSERT(offsetof(custody_live_record, alignment) == 28, "custody_live_record.alignment");
CUSTODY_STATIC_ASSERT(sizeof(struct custody_alloc_config) == 24, "custody_alloc_config size");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_alloc_config, canary_size) == 16, "custody_alloc_config.canary_size");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_alloc_config, poison) == 20, "custody_alloc_config.poison");
CUSTODY_STATIC_ASSERT(sizeof(struct custody_capsule_info) == 48, "custody_capsule_info size");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_capsule_info, type_name) == 24, "custody_capsule_info.type_name");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_capsule_info, parent) == 32, "custody_capsule_info.parent");
CUSTODY_STATIC_ASSERT(offsetof(struct custody_capsule_info, keep_alive) == 44, "custody_capsule_info.keep_alive");
#endif

/* ---- version, stats and layouts ---- */

/* The ABI version, CUSTODY_ABI_VERSION for this header. */
uint32_t custody_version(void);

/* The process-wide stats block. The address is fixed for the life of the process; read
 * it, never write it. Never NULL. */
struct custody_stats *custody_stats(void);

/* Field layouts computed by the library, as "name:offset:size,name:offset:size,...".
 * Static strings; never NULL. For bindings that read the structs by byte offset. */
const char *custody_stats_layout(void);       /* struct custody_stats */
const char *custody_event_layout(void);       /* custody_event */
const char *custody_live_record_layout(void); /* custody_live_record */
const char *custody_config_layout(void);      /* struct custody_alloc_config */
const char *custody_info_layout(void);        /* struct custody_capsule_info */

/* The stable name of a status ("OK", "STALE_HANDLE", ...), or "UNKNOWN_STATUS".
 * Static string; never NULL. */
const char *custody_status_name(int32_t status);

/* The lowercase name of an event kind ("double_free", ...) or detail
 * ("interior_pointer", ...), or "unknown" for a value that does not exist. Static
 * strings; never NULL. */
const char *custody_event_kind_name(uint32_t kind);
const char *custody_event_detail_name(uint32_t detail);

/* ---- names and tags ---- */

/* Interns `len` bytes at `text` (need not be NUL-terminated; the bytes are copied, so the
 * buffer may be reused at once). Returns the name's id (> 0; the same text always gets
 * the same id), usable as a capsule type_name or allocation tag. NULL with len 0 returns
 * 0, the null name (not the empty string). Errors: CUSTODY_NULL_POINTER (NULL with len > 0),
 * CUSTODY_NAME_TOO_LONG, CUSTODY_OUT_OF_MEMORY. */
int64_t custody_intern(const char *text, size_t len);

/* The NUL-terminated text of an interned id, valid for the life of the process, and its
 * length in *len when len is not NULL. Returns NULL for id 0 and ids never issued (*len
 * is then left unchanged). */
const char *custody_name(uint32_t id, size_t *len);

/* Sets the tag recorded by untagged allocations made on the calling thread (malloc,
 * calloc, realloc(NULL, n), aligned_alloc). Returns the thread's previous tag (initially
 * 0). */
uint32_t custody_set_thread_tag(uint32_t tag);

/* ---- tracked allocator ---- */

/* malloc: `size` bytes aligned to 16, tagged with the thread tag. NULL when out of
 * memory (counted in failed_allocs). custody_malloc(0) returns a unique block. */
void *custody_malloc(size_t size);

/* calloc: count * size zeroed bytes aligned to 16. NULL on overflow or out of memory. */
void *custody_calloc(size_t count, size_t size);

/* realloc: NULL pointer allocates; size 0 frees and returns NULL. Otherwise returns a new
 * block holding the old contents, with the old block's tag and alignment, and frees the
 * old one; on out of memory returns NULL and leaves the old block alone. A pointer that
 * is not a live block is reported as an event, left alone, and NULL is returned. */
void *custody_realloc(void *pointer, size_t size);

/* free: NULL is ignored. A double free, a pointer never issued, or an interior pointer is
 * reported (stats + event) and otherwise ignored. Damaged guards found while freeing are
 * reported too, and the block is freed anyway. */
void custody_free(void *pointer);

/* aligned_alloc, C11 argument order. `alignment` must be a power of two up to
 * CUSTODY_MAX_ALIGNMENT; `size` need not be a multiple of it. NULL otherwise or when out
 * of memory. */
void *custody_aligned_alloc(size_t alignment, size_t size);

/* Allocates `size` bytes aligned to `alignment` with an explicit tag (note the argument
 * order differs from custody_aligned_alloc). NULL on a bad alignment or out of memory. */
void *custody_alloc_tagged(size_t size, size_t alignment, uint32_t tag);

/* custody_alloc_tagged, zero-filled. Takes one size, not count and size. */
void *custody_calloc_tagged(size_t size, size_t alignment, uint32_t tag);

/* For JavaScript runtimes, whose numbers are doubles: custody_alloc_tagged and
 * custody_calloc_tagged with the size, alignment and result address as doubles (exact below
 * 2^53, which covers every address and size). A double that is not a whole number in
 * [0, 2^53] is refused: the result is 0. Deno passes 64-bit integers as BigInt, and the
 * conversion costs more than the call; these avoid it. */
double custody_alloc_number(double size, double alignment, uint32_t tag);
double custody_calloc_number(double size, double alignment, uint32_t tag);

/* custody_free that reports the outcome: 0 the block was freed (guard damage found on
 * the way is still reported as an event), 1 NULL was ignored, 2 the free itself was a
 * violation (double or invalid free) and nothing was freed. */
int32_t custody_free_checked(void *pointer);

/* The requested size of a live block, or -1 if `pointer` is not the start of a live
 * block (including blocks already freed). */
int64_t custody_block_size(const void *pointer);

/* The tag a live block was allocated with, or -1 if `pointer` is not a live block. */
int64_t custody_block_tag(const void *pointer);

/* Replaces the allocator settings. A smaller quarantine is trimmed at once; the canary
 * size applies to blocks allocated afterwards. Returns 0, CUSTODY_NULL_POINTER, or
 * CUSTODY_INVALID_ARGUMENT (canary_size > CUSTODY_MAX_CANARY or poison > 1). */
int32_t custody_alloc_configure(const struct custody_alloc_config *config);

/* Copies the current settings to *out; does nothing when out is NULL. */
void custody_alloc_config(struct custody_alloc_config *out);

/* Checks the guards of every live block and the poison of every quarantined block.
 * Returns the number of violations found (each also recorded as an event). */
uint64_t custody_check_all(void);

/* Empties the quarantine, checking each block's poison as it goes back to the system. */
void custody_flush_quarantine(void);

/* The sequence number the next allocation will receive. Take it before a piece of work
 * and pass it to custody_live_blocks afterwards to list what that work leaked. */
uint64_t custody_next_sequence(void);

/* Copies up to `max` live blocks whose sequence is >= min_sequence into out (which may
 * be NULL when max is 0), in no particular order. Returns how many such blocks exist,
 * which may exceed max. */
size_t custody_live_blocks(uint64_t min_sequence, custody_live_record *out, size_t max);

/* Copies up to `max` events with id > after into out, oldest first. Returns how many
 * were copied (0 when out is NULL). Only the newest CUSTODY_EVENT_CAPACITY events are
 * kept: a jump in ids means older ones were overwritten. Pass the last id seen as
 * `after` to read incrementally; stats->events_total is the newest id. */
size_t custody_events(uint64_t after, custody_event *out, size_t max);

/* ---- native functions ---- */

/* The address of function `name` in a library the process has already loaded (`path` as it
 * was loaded; both NUL-terminated), or 0 if the library is not loaded or has no such
 * symbol. Never loads a library. Used to give the registry native destructors. */
size_t custody_symbol_address(const char *path, const char *name);

/* ---- capsule registry ---- */
/* All registry functions may also return CUSTODY_OUT_OF_MEMORY if the registry could not
 * be created on first use. Handle arguments that fail validation give
 * CUSTODY_FORGED_HANDLE (slot 0, a slot never issued, an even or future generation) or
 * CUSTODY_STALE_HANDLE (the capsule is gone). */

/* Creates the registry with a fixed number of slots. Must come before any other registry
 * call to have an effect. Returns 0 (also when the registry already exists with this
 * capacity), CUSTODY_ALREADY_INITIALIZED (exists with another capacity),
 * CUSTODY_INVALID_ARGUMENT (0 or 0xFFFFFFFF), or CUSTODY_OUT_OF_MEMORY. */
int32_t custody_registry_init(uint32_t capacity);

/* The registry's capacity in slots (creating it if needed); 0 if it cannot be created. */
uint32_t custody_registry_capacity(void);

/* The generation table: capacity + 1 uint32_t indexed by slot (index 0 is never used).
 * Odd = live. The array never moves; treat it as read-only and, when other threads may
 * destroy capsules, read it with atomic (acquire) loads. NULL if the registry cannot be
 * created. */
uint32_t *custody_generations(void);

/* Registers the object at `pointer` with the interned `type_name` (0 = the null name),
 * an optional destructor and its context, and an optional parent ({0, 0} for none; the
 * parent's destruction destroys this capsule too). Writes the new handle to *out.
 * The same address may be registered more than once (for example with different types).
 * Returns 0, CUSTODY_NULL_POINTER (pointer 0 or out NULL), a handle status for the parent,
 * CUSTODY_TABLE_FULL or CUSTODY_OUT_OF_MEMORY. */
int32_t custody_capsule_create(size_t pointer, uint32_t type_name, custody_destructor destructor,
                               void *context, uint32_t parent_slot, uint32_t parent_generation,
                               custody_handle *out);

/* custody_capsule_create for a root entry that also records `owner` (see
 * custody_capsule_set_owner), unless a live entry for `pointer` with `type_name` exists:
 * then returns CUSTODY_ALREADY_REGISTERED and writes that entry's handle to *out. Registering
 * with a destructor where an entry of another type with a destructor lives (two owners of one
 * memory) returns CUSTODY_ALREADY_OWNED, with the owning entry's handle in *out. */
int32_t custody_capsule_register(size_t pointer, uint32_t type_name, custody_destructor destructor, void *context,
                                 uint32_t owner, custody_handle *out);

/* custody_capsule_register with the pointer, destructor and context as doubles (see
 * custody_alloc_number); CUSTODY_INVALID_ARGUMENT for a double that is not an address. */
int32_t custody_capsule_register_number(double pointer, uint32_t type_name, double destructor, double context,
                                        uint32_t owner, custody_handle *out);

/* An allocation and its registration in one call, for a JavaScript `alloc`: a tracked block of
 * `size` bytes (zero-filled if `zero` is non-zero), registered as a root entry named
 * `type_name` with owner code `owner`, whose destructor frees the block. Returns the address
 * and writes the handle to *out; on failure returns a negative status as a double
 * (CUSTODY_INVALID_ARGUMENT, CUSTODY_OUT_OF_MEMORY, CUSTODY_ALREADY_REGISTERED,
 * CUSTODY_ALREADY_OWNED, ...) and nothing stays allocated or registered. */
double custody_alloc_owned_number(double size, double alignment, uint32_t zero, uint32_t tag, uint32_t type_name,
                                  uint32_t owner, custody_handle *out);

/* Writes the capsule's address to *out if `type_name` is exactly the one it was created
 * with. Returns 0, CUSTODY_NULL_POINTER (out NULL), a handle status, or
 * CUSTODY_NAME_MISMATCH. */
int32_t custody_capsule_pointer(uint32_t slot, uint32_t generation, uint32_t type_name, size_t *out);

/* Fills *out with what the registry knows about a live capsule. Returns 0,
 * CUSTODY_NULL_POINTER (out NULL) or a handle status. */
int32_t custody_capsule_info(uint32_t slot, uint32_t generation, struct custody_capsule_info *out);

/* Copies up to `max` handles of the capsule's direct children into out (NULL allowed
 * when max is 0). Returns the number of children, which may exceed max, or a handle
 * status. */
int64_t custody_capsule_children(uint32_t slot, uint32_t generation, custody_handle *out, uint32_t max);

/* Finds a live capsule registered at `pointer` with `type_name`, or with any type when
 * type_name is CUSTODY_ANY_TYPE (then the most recently registered one). Returns 0,
 * CUSTODY_NULL_POINTER (out NULL) or CUSTODY_NOT_FOUND. */
int32_t custody_capsule_find(size_t pointer, uint32_t type_name, custody_handle *out);

/* Copies up to `max` handles of live capsules into out (NULL allowed when max is 0), in
 * slot order. Returns the number of live capsules, which may exceed max (0 if the
 * registry cannot be created). */
uint32_t custody_capsule_enumerate(custody_handle *out, uint32_t max);

/* Stores a caller-defined owner id on the capsule. Returns 0 or a handle status. */
int32_t custody_capsule_set_owner(uint32_t slot, uint32_t generation, uint32_t owner);

/* Replaces the capsule's destructor and context (NULL destructor: none). Returns 0 or a
 * handle status. */
int32_t custody_capsule_set_destructor(uint32_t slot, uint32_t generation,
                                       custody_destructor destructor, void *context);

/* Makes the capsule a view (view 1) or no longer one (view 0). A view's destructor runs only
 * when the view itself is destroyed (custody_capsule_destroy of its own handle, or the last
 * keep-alive dropped after that), never when it goes down with an ancestor: a capsule over a
 * block of memory must not be handed memory the block's end may already have freed. Returns
 * 0, a handle status, or CUSTODY_INVALID_ARGUMENT for any other view value. */
int32_t custody_capsule_set_view(uint32_t slot, uint32_t generation, uint32_t view);

/* Moves the capsule under a new parent; parent slot 0 detaches it. Setting the current
 * parent again changes nothing. Returns 0, a handle status (for either handle), or
 * CUSTODY_CYCLE if the parent is the capsule itself or one of its descendants. */
int32_t custody_capsule_set_parent(uint32_t slot, uint32_t generation,
                                   uint32_t parent_slot, uint32_t parent_generation);

/* Takes one keep-alive: if the capsule is destroyed meanwhile, its handle turns stale at
 * once but its destructor waits for the last custody_capsule_drop_keep_alive. Returns 0
 * or a handle status. */
int32_t custody_capsule_keep_alive(uint32_t slot, uint32_t generation);

/* Drops one keep-alive taken with this same handle; still accepted after the capsule was
 * destroyed. Dropping the last keep-alive of a destroyed capsule runs its destructor now,
 * on this thread. Returns 0, a handle status, or CUSTODY_NOT_KEPT_ALIVE. */
int32_t custody_capsule_drop_keep_alive(uint32_t slot, uint32_t generation);

/* Destroys the capsule and its subtree: every handle in it turns stale, then the
 * destructors run (children first, each once, no lock held, on this thread). Returns 0,
 * a handle status, or CUSTODY_OUT_OF_MEMORY (nothing was changed). */
int32_t custody_capsule_destroy(uint32_t slot, uint32_t generation);

/* Native code already destroyed the object: invalidates the capsule and its subtree like
 * custody_capsule_destroy, but does not run this capsule's own destructor (descendants'
 * destructors still run). Callable from any thread. Returns 0, a handle status, or
 * CUSTODY_OUT_OF_MEMORY. */
int32_t custody_notify_destroyed(uint32_t slot, uint32_t generation);

/* ---- capsules by name text (the PyCapsule shape) ----
 * Names are NUL-terminated UTF-8; NULL is the null name, which matches only NULL (not
 * even ""). A name is copied and interned when a capsule is created, so the caller may free
 * its buffer at once. Looking up a name never seen before never adds it to the table. */

/* Registers a root capsule at `pointer` named `name` with an optional destructor, its
 * context, and an owner code (see custody_capsule_set_owner; custody's JS side uses 1 for
 * "JS owns it", 2 for "borrowed"). Returns 0, CUSTODY_NULL_POINTER, CUSTODY_NAME_TOO_LONG,
 * CUSTODY_TABLE_FULL or CUSTODY_OUT_OF_MEMORY. */
int32_t custody_capsule_new(size_t pointer, const char *name, custody_destructor destructor, void *context,
                            uint32_t owner, custody_handle *out);

/* PyCapsule_GetPointer: writes the pointer to *out if `name` is exactly the capsule's.
 * Returns 0, CUSTODY_NULL_POINTER (out NULL), a handle status, or CUSTODY_NAME_MISMATCH. */
int32_t custody_capsule_get(uint32_t slot, uint32_t generation, const char *name, size_t *out);

/* PyCapsule_IsValid: whether the capsule is live and named exactly `name`. Never fails and
 * counts nothing in the statistics. */
bool custody_capsule_is_valid(uint32_t slot, uint32_t generation, const char *name);

/* The consume-once hand-off (the DLPack protocol): if `name` is exactly the capsule's,
 * writes its pointer to *out and invalidates the capsule without running its destructor:
 * the caller destroys the object from now on. Name check and invalidation are one step,
 * so of two consumers exactly one succeeds; the other gets CUSTODY_STALE_HANDLE. Returns
 * 0, CUSTODY_NULL_POINTER, a handle status, or CUSTODY_NAME_MISMATCH (nothing changed). */
int32_t custody_capsule_consume(uint32_t slot, uint32_t generation, const char *name, size_t *out);

/* custody_capsule_consume with an interned name id (custody_intern; 0 = the null name). */
int32_t custody_capsule_consume_id(uint32_t slot, uint32_t generation, uint32_t type_name, size_t *out);

/* The live capsule at `pointer` named exactly `name`. Returns 0, CUSTODY_NULL_POINTER (out
 * NULL) or CUSTODY_NOT_FOUND. */
int32_t custody_capsule_lookup(size_t pointer, const char *name, custody_handle *out);

/* custody_notify_destroyed for every live capsule registered at `pointer`, of any type.
 * Returns how many were invalidated (0 if none), or CUSTODY_OUT_OF_MEMORY. Callable from
 * any thread. */
int32_t custody_notify_destroyed_address(size_t pointer);

/* ---- callback gates ----
 * Thread-checking trampolines custody puts in front of JS callbacks, which may only run on
 * the JS thread that made them. Native code calls the gate's address like the callback
 * (at most six integer or pointer arguments, an integer, pointer or void result). On the
 * opening thread the call goes through; from another thread, mode 0 refuses it (counted,
 * `fallback` returned), mode 1 queues it and waits until the opening thread runs
 * custody_gate_drain, mode 2 queues it and returns `fallback` at once. A call through a
 * closed gate returns `fallback` and never reaches JS. */
typedef struct custody_gate_counts {
    uint64_t refused; /* foreign-thread calls refused */
    uint64_t queued;  /* foreign-thread calls queued */
    uint64_t drained; /* queued calls run */
    uint64_t stale;   /* calls through a closed gate, queued calls dropped by a close */
    uint64_t pending; /* queued calls not yet run */
} custody_gate_counts;

/* Returns the gate's index (>= 0), CUSTODY_NULL_POINTER, CUSTODY_INVALID_ARGUMENT (mode)
 * or CUSTODY_TABLE_FULL. */
int32_t custody_gate_open(size_t target, uint32_t mode, size_t fallback);
size_t custody_gate_address(uint32_t index);
/* Only the opening thread closes a gate; queued calls to it get `fallback`. */
int32_t custody_gate_close(uint32_t index);
/* Runs the calls queued for the calling thread's gates, oldest first; returns how many. */
uint32_t custody_gate_drain(void);
custody_gate_counts *custody_gate_counters(void);
const char *custody_gate_counters_layout(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CUSTODY_H */
