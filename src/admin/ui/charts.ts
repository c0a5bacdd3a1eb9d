/**
 * Time-series charts with uPlot (bundled: a small canvas charting library, MIT). Each chart is a <figure> with a
 * caption that says in words what it shows, since a canvas says nothing to a screen reader.
 */
import uPlot from 'uplot';
import { h } from './dom.js';

export interface SeriesSpec {
  label: string;
  color: string;
  values: (number | null)[];
  fill?: boolean;
  /** How a value reads on the axis and in the legend. */
  unit?: '%' | '/min';
  /** Draw each value as a point too (a series with gaps: one busy minute between quiet ones). */
  points?: boolean;
}

const charts = new Set<uPlot>();
let observer: ResizeObserver | undefined;

function widthOf(el: HTMLElement): number {
  return Math.max(240, Math.floor(el.getBoundingClientRect().width));
}

/** A line chart over time (x: ISO times); resizes with its box, so it never widens the page. */
export function timeChart(
  title: string,
  caption: string,
  xs: readonly string[],
  series: readonly SeriesSpec[],
): HTMLElement {
  const plot = h('div', { class: 'chart-plot' });
  const figure = h(
    'figure',
    { class: 'chart', 'aria-label': `${title}: ${caption}` },
    h('figcaption', {}, h('strong', { text: title }), ' ', h('span', { class: 'muted', text: caption })),
    plot,
  );
  const unit = series[0]?.unit;
  const fmt = (v: number | null | undefined) =>
    v === null || v === undefined
      ? '–'
      : unit === '%'
        ? `${Math.round(v * 10) / 10} %`
        : `${Math.round(v * 100) / 100}`;
  const opts: uPlot.Options = {
    width: 600,
    height: 190,
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      y: { range: (_u, _min, max) => [0, Math.max(unit === '%' ? 100 : 1, max * 1.1)] },
    },
    axes: [
      { stroke: '#5d6675', grid: { stroke: '#e6e9ee' } },
      {
        stroke: '#5d6675',
        grid: { stroke: '#e6e9ee' },
        size: 50,
        values: (_u, ticks) => ticks.map((t) => fmt(t)),
      },
    ],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        ...(s.fill ? { fill: `${s.color}22` } : {}),
        value: (_u: uPlot, v: number | null) => fmt(v),
        spanGaps: false,
        points: { show: s.points === true, size: 5 },
      })),
    ],
  };
  const data: uPlot.AlignedData = [xs.map((x) => Date.parse(x) / 1000), ...series.map((s) => s.values)];
  // Built once the figure is in the page (its width is known then).
  requestAnimationFrame(() => {
    if (!plot.isConnected) return;
    const u = new uPlot({ ...opts, width: widthOf(plot) }, data, plot);
    charts.add(u);
    observer ??= new ResizeObserver(() => {
      for (const c of charts) {
        if (!c.root.isConnected) {
          c.destroy();
          charts.delete(c);
          continue;
        }
        const parent = c.root.parentElement;
        if (parent) c.setSize({ width: widthOf(parent), height: 190 });
      }
    });
    observer.observe(plot);
  });
  return figure;
}
