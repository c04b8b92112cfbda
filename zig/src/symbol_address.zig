//! The address of a function in a shared library the process has already loaded.
//!
//! custody's registry runs destructors natively, from whatever thread destroys an object,
//! so it needs the C function's address. Neither `Deno.dlopen` nor `bun:ffi` hands that out
//! for a bound symbol; this asks the dynamic loader. `RTLD_NOLOAD` makes it a lookup only:
//! a library that is not loaded yet is not loaded by asking.
const std = @import("std");
const builtin = @import("builtin");

/// The address of `name` in the loaded library at `path`, or null.
pub fn lookup(path: [*:0]const u8, name: [*:0]const u8) ?usize {
    if (builtin.os.tag != .linux and !builtin.os.tag.isDarwin()) return null;
    const library = std.c.dlopen(path, .{ .LAZY = true, .NOLOAD = true }) orelse return null;
    defer _ = std.c.dlclose(library);
    const symbol = std.c.dlsym(library, name) orelse return null;
    return @intFromPtr(symbol);
}

test "finds a function of a loaded library and nothing else" {
    const malloc_address = lookup("libc.so.6", "malloc") orelse return error.TestUnexpectedResult;
    try std.testing.expect(malloc_address != 0);
    try std.testing.expectEqual(@as(?usize, null), lookup("libc.so.6", "no_such_function_here"));
    try std.testing.expectEqual(@as(?usize, null), lookup("libnot-loaded-anywhere.so", "malloc"));
}
