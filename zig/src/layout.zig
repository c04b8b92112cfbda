//! Describes `extern struct` layouts to JavaScript.
//!
//! JS reads the stats block, events and records by byte offset. Rather than keeping a
//! second copy of every field list in TypeScript, each struct's layout is exported as a
//! string "name:offset:size,..." computed at compile time from the struct itself, so the
//! two sides cannot drift apart.
const std = @import("std");

pub fn describe(comptime T: type) [:0]const u8 {
    return comptime fieldList(T);
}

fn fieldList(comptime T: type) [:0]const u8 {
    comptime {
        @setEvalBranchQuota(200_000);
        var text: [:0]const u8 = "";
        const info = @typeInfo(T).@"struct";
        for (info.field_names, info.field_types, 0..) |name, FieldType, i| {
            const separator = if (i == 0) "" else ",";
            text = text ++ std.fmt.comptimePrint("{s}{s}:{d}:{d}", .{
                separator, name, @offsetOf(T, name), @sizeOf(FieldType),
            });
        }
        return text;
    }
}

test "describe lists every field with its offset and size" {
    const Sample = extern struct { a: u64, b: u32, c: u32 };
    try std.testing.expectEqualStrings("a:0:8,b:8:4,c:12:4", describe(Sample));
}
