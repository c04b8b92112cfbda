//! Builds libcustody (the tracked allocator and capsule registry behind a C ABI),
//! its unit tests, and the native benchmark.
const std = @import("std");

comptime {
    const required = std.SemanticVersion.parse("0.17.0") catch unreachable;
    if (@import("builtin").zig_version.order(required) != .eq)
        @compileError("custody pins Zig 0.17.0; run `make` to install it into .tools/");
}

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    // ReleaseFast by default: a safety-checked build panics on a bug, and custody must never
    // abort its host. The unit tests run in Debug, where those checks catch the bugs.
    const optimize = b.option(std.lang.OptimizeMode, "optimize", "Optimize mode of the library (default fast)") orelse .fast;

    const core = b.createModule(.{
        .root_source_file = b.path("src/root.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });

    const lib = b.addLibrary(.{ .name = "custody", .linkage = .dynamic, .root_module = core });
    b.installArtifact(lib);

    const test_module = b.createModule(.{
        .root_source_file = b.path("src/root.zig"),
        .target = target,
        .optimize = b.option(std.lang.OptimizeMode, "test-optimize", "Optimize mode of the unit tests") orelse .debug,
        .link_libc = true,
    });
    const tests = b.addTest(.{ .root_module = test_module });
    const run_tests = b.addRunArtifact(tests);
    // Always run: the model tests draw a new seed each run, so a cached pass proves little.
    run_tests.has_side_effects = true;
    const test_step = b.step("test", "Run the unit tests");
    test_step.dependOn(&run_tests.step);

    // An installed test binary, so that valgrind can run it outside the build runner.
    const install_tests = b.addInstallArtifact(tests, .{ .dest_sub_path = "custody-tests" });
    b.step("test-binary", "Install the unit test binary as zig-out/bin/custody-tests").dependOn(&install_tests.step);

    // The example native library custody's tests, demo, fuzzing and benchmarks bind.
    const widgets_module = b.createModule(.{
        .root_source_file = b.path("examples/widgets.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    // Linked against libcustody and found next to it, so JS and the widgets share one
    // tracked allocator and one registry.
    widgets_module.linkLibrary(lib);
    widgets_module.addRPathSpecial("$ORIGIN");
    b.installArtifact(b.addLibrary(.{ .name = "widgets", .linkage = .dynamic, .root_module = widgets_module }));

    const widgets_test_module = b.createModule(.{
        .root_source_file = b.path("examples/widgets.zig"),
        .target = target,
        .optimize = .debug,
        .link_libc = true,
        .imports = &.{.{ .name = "custody", .module = test_module }},
    });
    const run_widgets_tests = b.addRunArtifact(b.addTest(.{ .root_module = widgets_test_module }));
    run_widgets_tests.has_side_effects = true;
    test_step.dependOn(&run_widgets_tests.step);

    const bench_module = b.createModule(.{
        .root_source_file = b.path("bench/alloc_bench.zig"),
        .target = target,
        .optimize = .fast,
        .link_libc = true,
        .imports = &.{.{ .name = "custody", .module = core }},
    });
    const bench = b.addExecutable(.{ .name = "custody-bench", .root_module = bench_module });
    b.installArtifact(bench);
}
