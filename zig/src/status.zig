//! Status codes returned across the C ABI. Zero is success, negatives are errors; each
//! has a stable name that JS turns into an error code, so the two never drift apart.
const std = @import("std");
const Registry = @import("registry.zig");

pub const Status = enum(i32) {
    ok = 0,
    stale_handle = -1,
    forged_handle = -2,
    name_mismatch = -3,
    cycle = -4,
    table_full = -5,
    null_pointer = -6,
    out_of_memory = -7,
    not_found = -8,
    not_kept_alive = -9,
    invalid_argument = -10,
    already_initialized = -11,
    name_too_long = -12,
    already_registered = -13,
    already_owned = -14,

    pub fn of(err: anyerror) Status {
        return switch (err) {
            error.StaleHandle => .stale_handle,
            error.ForgedHandle => .forged_handle,
            error.NameMismatch => .name_mismatch,
            error.Cycle => .cycle,
            error.TableFull => .table_full,
            error.NullPointer => .null_pointer,
            error.OutOfMemory => .out_of_memory,
            error.NotFound => .not_found,
            error.NotKeptAlive => .not_kept_alive,
            error.NameTooLong => .name_too_long,
            error.AlreadyInitialized => .already_initialized,
            error.AlreadyRegistered => .already_registered,
            error.AlreadyOwned => .already_owned,
            else => .invalid_argument,
        };
    }

    pub fn code(self: Status) i32 {
        return @intFromEnum(self);
    }

    /// "STALE_HANDLE" for `.stale_handle`: the code JS errors carry.
    pub fn name(value: i32) [:0]const u8 {
        const info = @typeInfo(Status).@"enum";
        inline for (info.field_names, info.field_values) |field_name, field_value| {
            if (field_value == value) return comptime upper(field_name);
        }
        return "UNKNOWN_STATUS";
    }

    fn upper(comptime text: []const u8) [:0]const u8 {
        comptime {
            var out: [text.len:0]u8 = undefined;
            for (text, 0..) |c, i| out[i] = std.ascii.toUpper(c);
            const final = out;
            return &final;
        }
    }
};

test "every registry error maps to its own status" {
    inline for (@typeInfo(Registry.Error).error_set.error_names.?) |error_name| {
        const status = Status.of(@field(anyerror, error_name));
        try std.testing.expect(status != .invalid_argument and status != .ok);
    }
    try std.testing.expectEqualStrings("STALE_HANDLE", Status.name(-1));
    try std.testing.expectEqualStrings("UNKNOWN_STATUS", Status.name(-999));
}
