/**
 * Renders the transition table for people: a Markdown table of every state and event, and
 * a Mermaid state diagram of the transitions that change something. The README shows both,
 * between markers that `scripts/render-ownership.ts` rewrites and a test compares.
 *
 * @module
 */
import { type Effect, type Event, eventDescriptions, events, isAllowed, refusedWhileKeptAlive, states, transitions } from "./transitions.ts";

const effectNotes: Readonly<Record<Effect, string>> = {
  none: "",
  destroy: " (destructor runs)",
  forget: " (entry dropped, no destructor)",
  handOver: " (native owns it)",
  link: " (parent recorded)",
  unlink: " (parent removed)",
};

/**
 * The table as Markdown: a row per event, a column per state.
 *
 * @example
 * ```ts
 * import { renderTable } from "./render.ts";
 * console.log(renderTable().split("\n")[0]); // | event | owned | borrowed | child | native | invalid |
 * ```
 */
export function renderTable(): string {
  const header = `| event | ${states.join(" | ")} |`;
  const rule = `| --- | ${states.map(() => "---").join(" | ")} |`;
  const rows = events.map((event) => {
    const cells = states.map((state) => {
      const outcome = transitions[state][event];
      if (!isAllowed(outcome)) {
        const after = Object.entries(outcome.errorAfter ?? {});
        const refined = after.length === 0 ? "" : ` (\`${after[0][1]}\` after ${after.map(([e]) => e).join(", ")})`;
        return `throws \`${outcome.error}\`${refined}`;
      }
      if (outcome.reachable === false) return "cannot happen";
      return outcome.to === state && outcome.effect === "none" ? "stays" : `**${outcome.to}**${effectNotes[outcome.effect]}`;
    });
    return `| \`${event}\`: ${eventDescriptions[event]} | ${cells.join(" | ")} |`;
  });
  return [header, rule, ...rows].join("\n");
}

/**
 * The transitions that change a state or act natively, as a Mermaid state diagram.
 *
 * @example
 * ```ts
 * import { renderDiagram } from "./render.ts";
 * console.log(renderDiagram().startsWith("stateDiagram-v2")); // true
 * ```
 */
export function renderDiagram(): string {
  const edges = new Map<string, Event[]>();
  for (const state of states) {
    for (const event of events) {
      const outcome = transitions[state][event];
      if (!isAllowed(outcome) || outcome.reachable === false) continue;
      if (outcome.to === state && outcome.effect === "none") continue;
      const key = `${state} --> ${outcome.to}`;
      edges.set(key, [...(edges.get(key) ?? []), event]);
    }
  }
  const lines = ["stateDiagram-v2", "  [*] --> owned: created, owned return", "  [*] --> borrowed: borrowed return, callback argument"];
  for (const [edge, on] of edges) lines.push(`  ${edge}: ${on.join(", ")}`);
  return lines.join("\n");
}

/** The README section: both renderings with a line on how to read them. */
export function renderSection(): string {
  return [
    "Rows are events, columns are the state a wrapper is in; each cell is where the event leads",
    "(and what custody does natively), or the error it throws before any native code runs.",
    "",
    renderTable(),
    "",
    `While a keep-alive holds the object, ${[...refusedWhileKeptAlive].map((e) => `\`${e}\``).join(" and ")} throw`,
    "`KEPT_ALIVE` wherever the table allows them: giving the object away would break the keep-alive.",
    "",
    "```mermaid",
    renderDiagram(),
    "```",
  ].join("\n");
}

/** The markers around the generated section in README.md. */
export const markers = { begin: "<!-- ownership-table:begin -->", end: "<!-- ownership-table:end -->" } as const;

/** `readme` with the section between the markers replaced by `renderSection()`. */
export function withSection(readme: string): string {
  const start = readme.indexOf(markers.begin);
  const end = readme.indexOf(markers.end);
  if (start < 0 || end < start) throw new Error("README.md lacks the ownership-table markers");
  return `${readme.slice(0, start + markers.begin.length)}\n${renderSection()}\n${readme.slice(end)}`;
}
