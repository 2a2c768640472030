/**
 * A grouped bar chart as a standalone SVG (no dependencies): one panel per
 * metric, a group of bars per workload, one bar per path, value printed on top.
 */

export interface ChartPanel {
  readonly title: string;
  /** Values by workload (outer) and path (inner, same order as `series`); undefined = not measured. */
  readonly values: readonly (readonly (number | undefined)[])[];
}

export interface ChartSpec {
  readonly title: string;
  readonly groups: readonly string[];
  readonly series: readonly string[];
  readonly panels: readonly ChartPanel[];
}

const COLORS = ['#7f7f7f', '#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#ff7f0e'];

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function label(v: number): string {
  if (v >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (v >= 100) return v.toFixed(0);
  return v.toFixed(1);
}

/** Render the chart; the SVG's size follows the number of groups and series. */
export function renderBarChart(spec: ChartSpec): string {
  const barWidth = 16;
  const groupGap = 24;
  const groupWidth = spec.series.length * barWidth + groupGap;
  const left = 20;
  const panelHeight = 170;
  const plotHeight = 120;
  const width = Math.max(520, left * 2 + spec.groups.length * groupWidth);
  const top = 56;
  const height = top + spec.panels.length * panelHeight + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
  spec.series.forEach((name, i) => {
    const x = left + i * 90;
    out.push(`<rect x="${x}" y="28" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="${x + 14}" y="37">${escapeXml(name)}</text>`);
  });
  spec.panels.forEach((panel, p) => {
    const y0 = top + p * panelHeight;
    const baseY = y0 + 18 + plotHeight;
    const max = Math.max(0, ...panel.values.flat().filter((v): v is number => v !== undefined && Number.isFinite(v)));
    out.push(`<text x="${left}" y="${y0 + 10}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    out.push(`<line x1="${left}" y1="${baseY}" x2="${width - left}" y2="${baseY}" stroke="#333"/>`);
    spec.groups.forEach((group, g) => {
      const gx = left + g * groupWidth + groupGap / 2;
      spec.series.forEach((_, s) => {
        const v = panel.values[g]?.[s];
        const x = gx + s * barWidth;
        if (v === undefined || !Number.isFinite(v)) {
          out.push(`<text x="${x + barWidth / 2}" y="${baseY - 3}" text-anchor="middle" fill="#999">–</text>`);
          return;
        }
        const h = max > 0 ? Math.max(1, (v / max) * plotHeight) : 1;
        out.push(
          `<rect x="${x + 1}" y="${(baseY - h).toFixed(1)}" width="${barWidth - 2}" height="${h.toFixed(1)}" fill="${COLORS[s % COLORS.length]}"><title>${escapeXml(`${group} · ${spec.series[s]}: ${v}`)}</title></rect>`,
          `<text x="${x + barWidth / 2}" y="${(baseY - h - 2).toFixed(1)}" text-anchor="middle" font-size="7">${label(v)}</text>`,
        );
      });
      out.push(`<text x="${gx + (spec.series.length * barWidth) / 2}" y="${baseY + 12}" text-anchor="middle">${escapeXml(group)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
