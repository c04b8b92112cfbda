/**
 * Renders the scale sweep as an SVG line chart: nanoseconds per operation against live
 * handles (log scale), one line per runtime and operation. Plain SVG text, no dependency.
 *
 * @module
 */

/** One line of the chart. */
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

const width = 760, height = 420, left = 70, right = 230, top = 40, bottom = 50;

/** The chart of `series` as an SVG document. */
export function lineChart(title: string, yLabel: string, series: readonly Series[]): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const [xMin, xMax] = [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))];
  const yMax = niceCeiling(Math.max(...ys));
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const px = (x: number) => left + (xMax === xMin ? 0 : (Math.log10(x) - xMin) / (xMax - xMin)) * plotWidth;
  const py = (y: number) => top + plotHeight - (y / yMax) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    parts.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 8}" y="${py(y) + 4}" text-anchor="end">${Math.round(y)}</text>`);
  }
  for (let e = Math.ceil(xMin); e <= Math.floor(xMax); e++) {
    const x = px(10 ** e);
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${top + plotHeight}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${top + plotHeight + 18}" text-anchor="middle">10^${e}</text>`);
  }
  parts.push(`<text x="${left + plotWidth / 2}" y="${height - 10}" text-anchor="middle">live handles</text>`);
  parts.push(`<text transform="translate(18 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    const path = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ");
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const p of s.points) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = top + 10 + i * 20;
    parts.push(`<line x1="${width - right + 15}" x2="${width - right + 45}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${width - right + 52}" y="${ly + 4}">${escape(s.label)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value) ?? value;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
