/* Smoke test of include/custody.h against the real libcustody.so.
 *
 *   zig cc -std=c11 -Wall -Wextra -Werror -Iinclude tests/header_smoke.c \
 *       -Lzig-out/lib -lcustody -Wl,-rpath,$PWD/zig-out/lib -o /tmp/header_smoke
 *
 * Prints "header smoke: ok" and exits 0, or prints each failed check and exits 1. */
#include "custody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(condition)                                                              \
    do {                                                                              \
        if (!(condition)) {                                                           \
            fprintf(stderr, "header smoke: %s:%d: check failed: %s\n", __FILE__,      \
                    __LINE__, #condition);                                            \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#define CHECK_STATUS(expression, expected)                                            \
    do {                                                                              \
        long long got_ = (long long)(expression);                                     \
        long long want_ = (long long)(expected);                                      \
        if (got_ != want_) {                                                          \
            fprintf(stderr, "header smoke: %s:%d: %s returned %lld (%s), expected %lld\n", \
                    __FILE__, __LINE__, #expression, got_,                            \
                    custody_status_name((int32_t)got_), want_);                       \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static size_t address_of(const void *pointer) {
    return (size_t)(uintptr_t)pointer;
}

/* ---- layouts: every field of every mirrored struct, against the library's strings ---- */

struct field {
    const char *name;
    size_t offset;
    size_t size;
};

#define FIELD(type, member) { #member, offsetof(type, member), sizeof(((type *)0)->member) }

static const struct field stats_fields[] = {
    FIELD(struct custody_stats, live_count),
    FIELD(struct custody_stats, live_bytes),
    FIELD(struct custody_stats, peak_count),
    FIELD(struct custody_stats, peak_bytes),
    FIELD(struct custody_stats, total_allocs),
    FIELD(struct custody_stats, total_frees),
    FIELD(struct custody_stats, total_bytes),
    FIELD(struct custody_stats, failed_allocs),
    FIELD(struct custody_stats, quarantine_count),
    FIELD(struct custody_stats, quarantine_bytes),
    FIELD(struct custody_stats, double_frees),
    FIELD(struct custody_stats, invalid_frees),
    FIELD(struct custody_stats, overruns),
    FIELD(struct custody_stats, underruns),
    FIELD(struct custody_stats, writes_after_free),
    FIELD(struct custody_stats, events_total),
    FIELD(struct custody_stats, capsules_live),
    FIELD(struct custody_stats, capsules_peak),
    FIELD(struct custody_stats, capsules_created),
    FIELD(struct custody_stats, capsules_destroyed),
    FIELD(struct custody_stats, capsules_notified),
    FIELD(struct custody_stats, destructors_run),
    FIELD(struct custody_stats, destructors_deferred),
    FIELD(struct custody_stats, slots_retired),
    FIELD(struct custody_stats, stale_handles),
    FIELD(struct custody_stats, forged_handles),
    FIELD(struct custody_stats, name_mismatches),
    FIELD(struct custody_stats, cycles_refused),
    FIELD(struct custody_stats, table_full),
};

static const struct field event_fields[] = {
    FIELD(custody_event, id),
    FIELD(custody_event, kind),
    FIELD(custody_event, detail),
    FIELD(custody_event, address),
    FIELD(custody_event, size),
    FIELD(custody_event, sequence),
    FIELD(custody_event, tag),
    FIELD(custody_event, _reserved),
    FIELD(custody_event, related),
};

static const struct field live_record_fields[] = {
    FIELD(custody_live_record, address),
    FIELD(custody_live_record, size),
    FIELD(custody_live_record, sequence),
    FIELD(custody_live_record, tag),
    FIELD(custody_live_record, alignment),
};

static const struct field config_fields[] = {
    FIELD(struct custody_alloc_config, quarantine_max_count),
    FIELD(struct custody_alloc_config, quarantine_max_bytes),
    FIELD(struct custody_alloc_config, canary_size),
    FIELD(struct custody_alloc_config, poison),
};

static const struct field info_fields[] = {
    FIELD(struct custody_capsule_info, pointer),
    FIELD(struct custody_capsule_info, destructor),
    FIELD(struct custody_capsule_info, context),
    FIELD(struct custody_capsule_info, type_name),
    FIELD(struct custody_capsule_info, owner),
    FIELD(struct custody_capsule_info, parent),
    FIELD(struct custody_capsule_info, child_count),
    FIELD(struct custody_capsule_info, keep_alive),
};

/* Builds "name:offset:size,..." from the header's view and compares it with the library's. */
static void check_layout(const char *what, const char *library, const struct field *fields, size_t count) {
    char expected[2048];
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        int n = snprintf(expected + used, sizeof expected - used, "%s%s:%zu:%zu", i == 0 ? "" : ",",
                         fields[i].name, fields[i].offset, fields[i].size);
        if (n < 0 || (size_t)n >= sizeof expected - used) {
            fprintf(stderr, "header smoke: layout buffer too small for %s\n", what);
            failures++;
            return;
        }
        used += (size_t)n;
    }
    if (library == NULL || strcmp(expected, library) != 0) {
        fprintf(stderr, "header smoke: %s layout differs\n  header:  %s\n  library: %s\n", what,
                expected, library ? library : "(null)");
        failures++;
    }
}

static void test_layouts(void) {
    const char *stats_layout = custody_stats_layout();
    CHECK(stats_layout != NULL && strstr(stats_layout, "double_frees") != NULL);
    check_layout("custody_stats", stats_layout, stats_fields, sizeof stats_fields / sizeof stats_fields[0]);
    check_layout("custody_event", custody_event_layout(), event_fields, sizeof event_fields / sizeof event_fields[0]);
    check_layout("custody_live_record", custody_live_record_layout(), live_record_fields,
                 sizeof live_record_fields / sizeof live_record_fields[0]);
    check_layout("custody_alloc_config", custody_config_layout(), config_fields,
                 sizeof config_fields / sizeof config_fields[0]);
    check_layout("custody_capsule_info", custody_info_layout(), info_fields, sizeof info_fields / sizeof info_fields[0]);
}

/* ---- allocator ---- */

static void test_allocator(void) {
    struct custody_stats *stats = custody_stats();
    CHECK(stats != NULL);
    if (stats == NULL) return;

    struct custody_alloc_config config;
    memset(&config, 0xAB, sizeof config);
    custody_alloc_config(&config);
    CHECK(config.quarantine_max_count > 0);
    CHECK(config.poison == 1);
    CHECK_STATUS(custody_alloc_configure(NULL), CUSTODY_NULL_POINTER);
    struct custody_alloc_config bad = config;
    bad.canary_size = CUSTODY_MAX_CANARY + 1;
    CHECK_STATUS(custody_alloc_configure(&bad), CUSTODY_INVALID_ARGUMENT);

    /* malloc / free */
    uint64_t live_before = stats->live_count;
    uint64_t first_sequence = custody_next_sequence();
    char *p = custody_malloc(32);
    CHECK(p != NULL);
    if (p == NULL) return;
    CHECK(address_of(p) % 16 == 0);
    memset(p, 'x', 32);
    CHECK(stats->live_count == live_before + 1);
    CHECK_STATUS(custody_block_size(p), 32);
    custody_live_record records[4];
    CHECK_STATUS(custody_live_blocks(first_sequence, records, 4), 1);
    CHECK(records[0].address == (uint64_t)address_of(p) && records[0].size == 32 && records[0].alignment == 16);
    custody_free(p);
    CHECK(stats->live_count == live_before);
    CHECK_STATUS(custody_block_size(p), -1);
    CHECK_STATUS(custody_free_checked(NULL), 1);

    /* the entry points for JavaScript numbers */
    double number_block = custody_calloc_number(24, 16, 0);
    CHECK(number_block != 0 && (uint64_t)number_block % 16 == 0);
    CHECK(custody_alloc_number(8.5, 16, 0) == 0);
    custody_free((void *)(uintptr_t)number_block);

    /* calloc, realloc, aligned */
    unsigned char *z = custody_calloc(8, 8);
    CHECK(z != NULL);
    for (size_t i = 0; z != NULL && i < 64; i++) CHECK(z[i] == 0);
    z = custody_realloc(z, 256);
    CHECK(z != NULL);
    CHECK_STATUS(custody_block_size(z), 256);
    CHECK_STATUS(custody_free_checked(z), 0);
    void *aligned = custody_aligned_alloc(256, 10);
    CHECK(aligned != NULL && address_of(aligned) % 256 == 0);
    custody_free(aligned);
    CHECK(custody_aligned_alloc(3, 10) == NULL);

    /* a deliberate double free */
    uint32_t tag = (uint32_t)custody_intern("smoke", 5);
    uint32_t previous_tag = custody_set_thread_tag(tag);
    char *q = custody_malloc(24);
    custody_set_thread_tag(previous_tag);
    CHECK(q != NULL);
    if (q == NULL) return;
    size_t q_address = address_of(q);
    custody_free(q);
    uint64_t double_frees_before = stats->double_frees;
    uint64_t last_event = stats->events_total;
    custody_free(q); /* deliberate: must be reported, not crash */
    CHECK(stats->double_frees == double_frees_before + 1);
    CHECK(stats->events_total == last_event + 1);
    custody_event event;
    memset(&event, 0, sizeof event);
    CHECK_STATUS(custody_events(last_event, &event, 1), 1);
    CHECK(event.id == last_event + 1);
    CHECK(event.kind == CUSTODY_EVENT_DOUBLE_FREE);
    CHECK(event.detail == CUSTODY_DETAIL_IN_QUARANTINE);
    CHECK(event.address == (uint64_t)q_address);
    CHECK(event.size == 24);
    CHECK(event.tag == tag);
    CHECK(event._reserved == 0);
    CHECK_STATUS(custody_free_checked(q), 2);
    CHECK(stats->double_frees == double_frees_before + 2);
    CHECK_STATUS(custody_events(stats->events_total, &event, 1), 0);

    /* an overrun, found by check_all */
    char *r = custody_malloc(10);
    CHECK(r != NULL);
    if (r != NULL) {
        uint64_t overruns_before = stats->overruns;
        last_event = stats->events_total;
        r[10] = 0; /* deliberate: one byte past the end, into the canary */
        CHECK_STATUS(custody_check_all(), 1);
        CHECK(stats->overruns == overruns_before + 1);
        CHECK_STATUS(custody_events(last_event, &event, 1), 1);
        CHECK(event.kind == CUSTODY_EVENT_OVERRUN && event.detail == CUSTODY_DETAIL_ON_CHECK);
        CHECK(event.address == (uint64_t)address_of(r) && event.related == 0);
        r[10] = (char)CUSTODY_GUARD_BYTE;
        CHECK_STATUS(custody_free_checked(r), 0);
    }
    custody_flush_quarantine();
    CHECK(stats->quarantine_count == 0);
}

/* ---- names ---- */

static void test_names(void) {
    int64_t id = custody_intern("widget", 6);
    CHECK(id > 0);
    CHECK_STATUS(custody_intern("widget!", 6), id);
    size_t len = 0;
    const char *text = custody_name((uint32_t)id, &len);
    CHECK(text != NULL && len == 6 && strcmp(text, "widget") == 0);
    CHECK(custody_name(CUSTODY_NULL_NAME, NULL) == NULL);
    CHECK_STATUS(custody_intern(NULL, 3), CUSTODY_NULL_POINTER);
    static char long_name[CUSTODY_MAX_NAME_LEN + 1];
    memset(long_name, 'a', sizeof long_name);
    CHECK_STATUS(custody_intern(long_name, sizeof long_name), CUSTODY_NAME_TOO_LONG);
    CHECK(strcmp(custody_status_name(CUSTODY_STALE_HANDLE), "STALE_HANDLE") == 0);
    CHECK(strcmp(custody_status_name(CUSTODY_NAME_TOO_LONG), "NAME_TOO_LONG") == 0);
    CHECK(strcmp(custody_status_name(CUSTODY_OK), "OK") == 0);
    CHECK(strcmp(custody_status_name(-999), "UNKNOWN_STATUS") == 0);
    CHECK(strcmp(custody_event_kind_name(CUSTODY_EVENT_DOUBLE_FREE), "double_free") == 0);
    CHECK(strcmp(custody_event_kind_name(CUSTODY_EVENT_WRITE_AFTER_FREE), "write_after_free") == 0);
    CHECK(strcmp(custody_event_kind_name(0), "unknown") == 0);
    CHECK(strcmp(custody_event_detail_name(CUSTODY_DETAIL_INTERIOR_POINTER), "interior_pointer") == 0);
    CHECK(strcmp(custody_event_detail_name(CUSTODY_DETAIL_ON_FREE), "on_free") == 0);
    CHECK(strcmp(custody_event_detail_name(9), "unknown") == 0);
}

/* ---- registry ---- */

struct destructor_log {
    int calls;
    size_t order[8];
};

static void record_destructor(void *pointer, void *context) {
    struct destructor_log *log = context;
    if (log->calls < 8) log->order[log->calls] = address_of(pointer);
    log->calls++;
}

/* Frees the object, as a real binding's destructor would. */
static int freeing_calls = 0;
static void free_destructor(void *pointer, void *context) {
    (void)context;
    freeing_calls++;
    custody_free(pointer);
}

static void test_registry(void) {
    struct custody_stats *stats = custody_stats();
    CHECK_STATUS(custody_registry_init(1024), CUSTODY_OK);
    CHECK_STATUS(custody_registry_init(1024), CUSTODY_OK);
    CHECK_STATUS(custody_registry_init(2048), CUSTODY_ALREADY_INITIALIZED);
    CHECK_STATUS(custody_registry_capacity(), 1024);
    uint32_t *generations = custody_generations();
    CHECK(generations != NULL);

    uint32_t widget = (uint32_t)custody_intern("widget", 6);
    uint32_t part = (uint32_t)custody_intern("part", 4);
    struct destructor_log log;
    memset(&log, 0, sizeof log);

    int parent_object = 0, child_object = 0;
    custody_handle parent = { 0, 0 }, child = { 0, 0 };
    CHECK_STATUS(custody_capsule_create(address_of(&parent_object), widget, record_destructor, &log, 0, 0, &parent),
                 CUSTODY_OK);
    CHECK(parent.slot != 0 && (parent.generation & 1u) == 1);
    CHECK(generations != NULL && generations[parent.slot] == parent.generation);
    CHECK_STATUS(custody_capsule_create(address_of(&child_object), part, record_destructor, &log, parent.slot,
                                        parent.generation, &child),
                 CUSTODY_OK);
    CHECK_STATUS(custody_capsule_create(0, widget, NULL, NULL, 0, 0, &child), CUSTODY_NULL_POINTER);
    CHECK_STATUS(custody_capsule_create(1, widget, NULL, NULL, 0, 0, NULL), CUSTODY_NULL_POINTER);

    size_t pointer = 0;
    CHECK_STATUS(custody_capsule_pointer(parent.slot, parent.generation, widget, &pointer), CUSTODY_OK);
    CHECK(pointer == address_of(&parent_object));
    CHECK_STATUS(custody_capsule_pointer(parent.slot, parent.generation, part, &pointer), CUSTODY_NAME_MISMATCH);

    struct custody_capsule_info info;
    CHECK_STATUS(custody_capsule_info(child.slot, child.generation, &info), CUSTODY_OK);
    CHECK(info.pointer == (uint64_t)address_of(&child_object));
    CHECK(info.type_name == part);
    CHECK(info.context == (uint64_t)address_of(&log));
    CHECK(info.destructor != 0);
    CHECK(info.parent.slot == parent.slot && info.parent.generation == parent.generation);
    CHECK_STATUS(custody_capsule_info(parent.slot, parent.generation, &info), CUSTODY_OK);
    CHECK(info.child_count == 1 && info.parent.slot == 0);

    custody_handle found[4];
    CHECK_STATUS(custody_capsule_children(parent.slot, parent.generation, found, 4), 1);
    CHECK(found[0].slot == child.slot && found[0].generation == child.generation);
    CHECK_STATUS(custody_capsule_find(address_of(&child_object), CUSTODY_ANY_TYPE, &found[1]), CUSTODY_OK);
    CHECK(found[1].slot == child.slot);
    CHECK_STATUS(custody_capsule_find(address_of(&child_object), widget, &found[1]), CUSTODY_NOT_FOUND);
    CHECK(custody_capsule_enumerate(NULL, 0) >= 2);
    CHECK_STATUS(custody_capsule_set_parent(parent.slot, parent.generation, child.slot, child.generation), CUSTODY_CYCLE);
    CHECK_STATUS(custody_capsule_set_owner(child.slot, child.generation, 7), CUSTODY_OK);
    /* a view only while asked: the destroy below runs the child's destructor */
    CHECK_STATUS(custody_capsule_set_view(child.slot, child.generation, 2), CUSTODY_INVALID_ARGUMENT);
    CHECK_STATUS(custody_capsule_set_view(child.slot, child.generation, 1), CUSTODY_OK);
    CHECK_STATUS(custody_capsule_set_view(child.slot, child.generation, 0), CUSTODY_OK);

    /* destroy the parent: both handles stale, child's destructor first, each once */
    uint64_t destructors_before = stats->destructors_run;
    CHECK_STATUS(custody_capsule_destroy(parent.slot, parent.generation), CUSTODY_OK);
    CHECK_STATUS(custody_capsule_info(parent.slot, parent.generation, &info), CUSTODY_STALE_HANDLE);
    CHECK_STATUS(custody_capsule_info(child.slot, child.generation, &info), CUSTODY_STALE_HANDLE);
    CHECK(log.calls == 2);
    CHECK(log.order[0] == address_of(&child_object) && log.order[1] == address_of(&parent_object));
    CHECK(stats->destructors_run == destructors_before + 2);
    CHECK(generations != NULL && (generations[parent.slot] & 1u) == 0 && (generations[child.slot] & 1u) == 0);
    CHECK_STATUS(custody_capsule_destroy(parent.slot, parent.generation), CUSTODY_STALE_HANDLE);
    CHECK(log.calls == 2);
    CHECK_STATUS(custody_capsule_info(0, 0, &info), CUSTODY_FORGED_HANDLE);

    /* capsules by name text: exact names, NULL only matches NULL, consumed once */
    char producer_name[] = "dltensor";
    custody_handle tensor = { 0, 0 };
    CHECK_STATUS(custody_capsule_new(address_of(&parent_object), producer_name, record_destructor, &log, 1, &tensor),
                 CUSTODY_OK);
    producer_name[0] = 'X'; /* the name was copied */
    CHECK(custody_capsule_is_valid(tensor.slot, tensor.generation, "dltensor"));
    CHECK(!custody_capsule_is_valid(tensor.slot, tensor.generation, NULL));
    CHECK_STATUS(custody_capsule_get(tensor.slot, tensor.generation, "dltensor", &pointer), CUSTODY_OK);
    CHECK(pointer == address_of(&parent_object));
    CHECK_STATUS(custody_capsule_get(tensor.slot, tensor.generation, "used_dltensor", &pointer), CUSTODY_NAME_MISMATCH);
    custody_handle looked_up = { 0, 0 };
    CHECK_STATUS(custody_capsule_lookup(address_of(&parent_object), "dltensor", &looked_up), CUSTODY_OK);
    CHECK(looked_up.slot == tensor.slot && looked_up.generation == tensor.generation);
    CHECK_STATUS(custody_capsule_consume(tensor.slot, tensor.generation, "dltensor", &pointer), CUSTODY_OK);
    CHECK_STATUS(custody_capsule_consume(tensor.slot, tensor.generation, "dltensor", &pointer), CUSTODY_STALE_HANDLE);
    CHECK_STATUS(custody_capsule_consume_id(tensor.slot, tensor.generation, 0, &pointer), CUSTODY_STALE_HANDLE);
    CHECK(!custody_capsule_is_valid(tensor.slot, tensor.generation, "dltensor"));
    CHECK(log.calls == 2); /* consumed: the producer's destructor did not run */

    /* an object from the tracked allocator, owned by its capsule */
    void *object = custody_malloc(48);
    CHECK(object != NULL);
    custody_handle owned;
    CHECK_STATUS(custody_capsule_create(address_of(object), widget, free_destructor, NULL, 0, 0, &owned), CUSTODY_OK);
    CHECK_STATUS(custody_capsule_destroy(owned.slot, owned.generation), CUSTODY_OK);
    CHECK(freeing_calls == 1);
    CHECK_STATUS(custody_block_size(object), -1);

    /* keep-alive defers the destructor */
    int kept_object = 0;
    custody_handle kept;
    memset(&log, 0, sizeof log);
    CHECK_STATUS(custody_capsule_create(address_of(&kept_object), widget, record_destructor, &log, 0, 0, &kept),
                 CUSTODY_OK);
    CHECK_STATUS(custody_capsule_keep_alive(kept.slot, kept.generation), CUSTODY_OK);
    CHECK_STATUS(custody_capsule_destroy(kept.slot, kept.generation), CUSTODY_OK);
    CHECK_STATUS(custody_capsule_info(kept.slot, kept.generation, &info), CUSTODY_STALE_HANDLE);
    CHECK(log.calls == 0);
    CHECK_STATUS(custody_capsule_drop_keep_alive(kept.slot, kept.generation), CUSTODY_OK);
    CHECK(log.calls == 1);

    /* notify by address: native code destroyed the object, so its destructor must not run */
    int native_object = 0, native_member = 0;
    custody_handle native, member;
    memset(&log, 0, sizeof log);
    uint64_t notified_before = stats->capsules_notified;
    CHECK_STATUS(custody_capsule_create(address_of(&native_object), widget, record_destructor, &log, 0, 0, &native),
                 CUSTODY_OK);
    CHECK_STATUS(custody_capsule_create(address_of(&native_member), part, record_destructor, &log, native.slot,
                                        native.generation, &member),
                 CUSTODY_OK);
    CHECK_STATUS(custody_notify_destroyed_address(address_of(&native_object)), 1);
    CHECK_STATUS(custody_capsule_info(native.slot, native.generation, &info), CUSTODY_STALE_HANDLE);
    CHECK_STATUS(custody_capsule_info(member.slot, member.generation, &info), CUSTODY_STALE_HANDLE);
    CHECK(log.calls == 1 && log.order[0] == address_of(&native_member)); /* only the child's */
    CHECK(stats->capsules_notified == notified_before + 1);
    CHECK_STATUS(custody_capsule_find(address_of(&native_object), CUSTODY_ANY_TYPE, &found[0]), CUSTODY_NOT_FOUND);
    CHECK_STATUS(custody_notify_destroyed_address(address_of(&native_object)), 0);

    /* notify by handle */
    CHECK_STATUS(custody_capsule_create(address_of(&native_object), widget, record_destructor, &log, 0, 0, &native),
                 CUSTODY_OK);
    CHECK_STATUS(custody_notify_destroyed(native.slot, native.generation), CUSTODY_OK);
    CHECK_STATUS(custody_notify_destroyed(native.slot, native.generation), CUSTODY_STALE_HANDLE);
    CHECK(log.calls == 1);
}

int main(void) {
    CHECK_STATUS(custody_version(), CUSTODY_ABI_VERSION);
    test_layouts();
    test_allocator();
    test_names();
    test_registry();
    if (failures != 0) {
        fprintf(stderr, "header smoke: %d check(s) failed\n", failures);
        return 1;
    }
    puts("header smoke: ok");
    return 0;
}
