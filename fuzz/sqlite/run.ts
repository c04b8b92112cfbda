/**
 * One SQLite fuzz property: a generated command sequence against a fresh model and the real
 * SQLite, then every connection released and the leak oracles: no SQLite block left in the
 * tracked allocator, no registry entry, no open callback, and no violation at any point.
 *
 * @module
 */
import fc from "fast-check";
import { openCallbacks } from "../../src/bindings/callbacks.ts";
import { liveBlocks, nextSequence } from "../../src/allocator.ts";
import { stats, violationCount } from "../../src/stats.ts";
import { checkViolations, fail } from "../command.ts";
import { type SqliteCommand, sqliteCommands, type SqliteReal, trace } from "./commands.ts";
import { SqliteModel } from "./model.ts";

/** The longest run. */
export const sqliteMaxCommands = 300;

/** The leak oracles of one finished run. */
function finish(real: SqliteReal, start: { sequence: number; entries: number; callbacks: number }): void {
  const label = "cleanup";
  checkViolations(label, real.violations);
  const left = liveBlocks(start.sequence).filter((b) => b.tag === "sqlite");
  if (left.length !== 0) fail("leak", label, "LEAK", `${left.length} SQLite blocks (${left.reduce((n, b) => n + b.size, 0)} bytes) are left after closing every connection`);
  const entries = stats().capsulesLive - start.entries;
  if (entries !== 0) fail("leak", label, "LIVE_ENTRIES", `${entries} registry entries are left after closing every connection`);
  const callbacks = openCallbacks() - start.callbacks;
  if (callbacks !== 0) fail("leak", label, "OPEN_CALLBACKS", `${callbacks} UDF callbacks are left open after closing every connection`);
}

/** The property of the SQLite fuzz, over runs of at most `bound` commands. */
export function sqliteProperty(bound: number = sqliteMaxCommands): fc.IProperty<[Iterable<SqliteCommand>]> {
  return fc.property(fc.commands<SqliteModel, SqliteReal>([...sqliteCommands], { maxCommands: bound, size: "max" }), (commands) => {
    const start = { sequence: nextSequence(), entries: stats().capsulesLive, callbacks: openCallbacks() };
    const model = new SqliteModel();
    trace("--- run");
    const real: SqliteReal = { violations: violationCount() };
    try {
      fc.modelRun(() => ({ model, real }), commands);
    } finally {
      // Everything a connection owns goes with it (also after a failure: the next run starts clean).
      for (const item of model.of("connection")) {
        if (!item.valid) continue;
        item.object.release();
        model.end(item);
      }
    }
    finish(real, start);
  });
}
