/** Events per day as an SVG bar chart, with the same numbers as a table for screen readers. */
import type { DayCount } from "./daily-counts";
import { plural } from "./format";

const width = 720;
const height = 200;
const margin = { top: 12, right: 12, bottom: 28, left: 36 };

export function EventsChart({ counts, title }: { counts: readonly DayCount[]; title: string }) {
  const max = Math.max(1, ...counts.map((c) => c.count));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const step = plotWidth / Math.max(1, counts.length);
  const barWidth = Math.max(2, step * 0.7);
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const first = counts[0]?.day ?? "";
  const last = counts[counts.length - 1]?.day ?? "";
  const busiest = counts.reduce<DayCount | undefined>(
    (best, c) => (!best || c.count > best.count ? c : best),
    undefined,
  );
  const summary = `${plural(total, "event")} from ${first} to ${last}${busiest && busiest.count > 0 ? `; busiest day ${busiest.day} with ${busiest.count}` : ""}.`;
  const ticks = [0, Math.ceil(max / 2), max].filter((v, i, all) => all.indexOf(v) === i);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${summary}`}>
        {ticks.map((tick) => {
          const y = margin.top + plotHeight - (tick / max) * plotHeight;
          return (
            <g key={tick}>
              <line x1={margin.left} x2={width - margin.right} y1={y} y2={y} class="grid" />
              <text x={margin.left - 6} y={y + 4} text-anchor="end" class="axis">
                {tick}
              </text>
            </g>
          );
        })}
        {counts.map((c, i) => {
          const h = (c.count / max) * plotHeight;
          const x = margin.left + i * step + (step - barWidth) / 2;
          return (
            <rect key={c.day} x={x} y={margin.top + plotHeight - h} width={barWidth} height={h} class="bar">
              <title>{`${c.day}: ${plural(c.count, "event")}`}</title>
            </rect>
          );
        })}
        <text x={margin.left} y={height - 8} class="axis">
          {first}
        </text>
        <text x={width - margin.right} y={height - 8} text-anchor="end" class="axis">
          {last}
        </text>
      </svg>
      <figcaption>
        {title}: {summary}
      </figcaption>
      <details>
        <summary>Show the numbers</summary>
        <table>
          <caption>{title}</caption>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">Events</th>
            </tr>
          </thead>
          <tbody>
            {counts
              .filter((c) => c.count > 0)
              .map((c) => (
                <tr key={c.day}>
                  <td>{c.day}</td>
                  <td>{c.count}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
