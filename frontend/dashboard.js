// Dashboard chart island (ECharts, only the bar/pie/line parts are bundled).
//
// <div data-chart data-chart-url="/…"></div>
//   GET → {"title", "type": "bar"|"pie"|"line", "categories": [...], "series": [{"name", "data": [...]}],
//          "links": [url per category] | null}
// Clicking a bar, slice or point goes to links[categoryIndex].
// data-chart-table="<id>" (optional) names the element on the page whose visible table holds the same
// numbers: the chart's description points screen readers there. Without it a visually hidden table repeats
// the numbers, as plain text (no links, so no invisible tab stops).
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

import { getJSON } from './lib/http.js';
import { h, mountAll } from './lib/dom.js';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);

const PALETTE = ['#1f5fbf', '#5b8fd9', '#2e9d8f', '#e0a030', '#c94f4f', '#7a62b8', '#8a94a6', '#3aa0c8'];
const FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';

function buildOption(spec) {
  const categories = spec.categories || [];
  const series = spec.series || [];
  const clickable = Array.isArray(spec.links) && spec.links.some(Boolean);
  const base = {
    color: PALETTE,
    textStyle: { fontFamily: FONT },
    title: spec.title ? { text: spec.title, left: 'center', top: 4, textStyle: { fontSize: 15, fontWeight: 600, color: '#222' } } : undefined,
    tooltip: { trigger: spec.type === 'pie' ? 'item' : 'axis', confine: true },
    animationDuration: 400,
  };
  if (spec.type === 'pie') {
    const first = series[0] || { data: [] };
    return {
      ...base,
      legend: { type: 'scroll', bottom: 0 },
      tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）', confine: true },
      series: [
        {
          type: 'pie',
          name: first.name,
          radius: ['35%', '65%'],
          center: ['50%', '52%'],
          cursor: clickable ? 'pointer' : 'default',
          label: { formatter: '{b}\n{c}' },
          data: categories.map((name, i) => ({ name, value: first.data[i] })),
        },
      ],
    };
  }
  const longLabels = categories.some((c) => String(c).length > 6) && categories.length > 4;
  return {
    ...base,
    legend: series.length > 1 ? { top: spec.title ? 30 : 4, type: 'scroll' } : undefined,
    grid: { left: 12, right: 16, bottom: 8, top: spec.title ? (series.length > 1 ? 64 : 44) : 24, containLabel: true },
    xAxis: {
      type: 'category',
      data: categories,
      triggerEvent: clickable, // axis labels are links too: a tiny bar is hard to hit
      axisTick: { alignWithLabel: true },
      axisLabel: { interval: 0, rotate: longLabels ? 30 : 0, hideOverlap: true },
    },
    yAxis: { type: 'value', minInterval: 1, splitLine: { lineStyle: { color: '#eceef1' } } },
    series: series.map((s) => ({
      // Red is kept for overdue figures, as everywhere else on the site.
      itemStyle: /超期|逾期|出错/.test(s.name || '') ? { color: '#c62828' } : undefined,
      lineStyle: /超期|逾期|出错/.test(s.name || '') ? { color: '#c62828' } : undefined,
      type: spec.type === 'line' ? 'line' : 'bar',
      name: s.name,
      data: s.data,
      cursor: clickable ? 'pointer' : 'default',
      barMaxWidth: 36,
      smooth: spec.type === 'line' ? 0.2 : undefined,
      symbolSize: spec.type === 'line' ? 7 : undefined,
      emphasis: { focus: 'series' },
    })),
  };
}

function dataTable(spec) {
  const series = spec.series || [];
  return h(
    'table',
    { class: 'sr-only' },
    h('caption', {}, spec.title || '图表数据'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '类别'), series.map((s) => h('th', { scope: 'col' }, s.name || '数值')))),
    h(
      'tbody',
      {},
      (spec.categories || []).map((c, i) =>
        h('tr', {}, h('th', { scope: 'row' }, c),
          series.map((s) => h('td', {}, s.data[i] ?? ''))),
      ),
    ),
  );
}

function isEmpty(spec) {
  const values = (spec.series || []).flatMap((s) => s.data || []);
  return !(spec.categories || []).length || !values.some((v) => typeof v === 'number' && v !== 0);
}

async function mountChart(el) {
  el.classList.add('chart-host');
  el.replaceChildren(h('div', { class: 'chart-message', role: 'status' }, '正在加载图表…'));
  let spec;
  try {
    spec = await getJSON(el.dataset.chartUrl);
  } catch (err) {
    el.replaceChildren(h('div', { class: 'chart-message alert-error', role: 'alert' }, `图表加载失败：${err.message}`));
    el.dataset.islandState = 'error';
    return;
  }
  if (isEmpty(spec)) {
    el.replaceChildren(
      h('div', { class: 'empty-state' }, spec.title ? h('strong', {}, spec.title) : null, h('p', {}, '暂无数据')),
    );
    return;
  }
  const table = el.dataset.chartTable ? document.getElementById(el.dataset.chartTable) : null;
  const heading = table && table.querySelector('h2, h3, .card-title');
  const canvasEl = h('div', {
    class: 'chart-canvas', role: 'img',
    'aria-label': heading ? `${spec.title || '统计图'}（图表，数据见下方“${heading.textContent.trim()}”表格）` : spec.title || '统计图',
  });
  el.replaceChildren(...(table ? [canvasEl] : [canvasEl, dataTable(spec)]));
  const chart = echarts.init(canvasEl, null, { renderer: 'canvas', locale: 'ZH' });
  chart.setOption(buildOption(spec));
  el.egovChart = chart; // handle for page scripts and browser tests

  const links = Array.isArray(spec.links) ? spec.links : [];
  chart.on('click', (params) => {
    const index = params.componentType === 'xAxis' ? (spec.categories || []).indexOf(params.value) : params.dataIndex;
    const url = links[index];
    if (url) window.location.assign(url);
  });
  new ResizeObserver(() => chart.resize()).observe(canvasEl);
}

mountAll('[data-chart]', mountChart);
