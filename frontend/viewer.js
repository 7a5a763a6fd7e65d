// Process viewer island: draws a BPMN diagram read-only and colours an instance's progress.
//
// <div data-bpmn-viewer data-xml-url="/…/diagram.bpmn" data-state-url="/…/state.json"></div>
//   xml-url   GET → BPMN XML text
//   state-url GET → {"completed": [id], "active": [{"id", "label"}], "failed": [id], "taken_flows": [id]}
//             (optional: without it only the diagram is drawn)
// Markers: egov-done (green), egov-active (blue, thick, badge overlay), egov-failed (red).
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

import './bpmn/viewer.css';
import { getJSON, getText } from './lib/http.js';
import { h, mountAll } from './lib/dom.js';

const ARROW_DEFS = [
  ['egov-arrow-done', '#2e7d32'],
  ['egov-arrow-active', '#1f5fbf'],
  ['egov-arrow-failed', '#c62828'],
];

// The flows' arrowheads are SVG markers that CSS cannot recolour, so the stylesheet points
// coloured flows at these markers instead (`marker-end: url(#egov-arrow-done)`).
function ensureArrowDefs() {
  if (document.getElementById(ARROW_DEFS[0][0])) return;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'egov-svg-defs');
  const defs = document.createElementNS(ns, 'defs');
  for (const [id, colour] of ARROW_DEFS) {
    const marker = document.createElementNS(ns, 'marker');
    for (const [k, v] of Object.entries({
      id, viewBox: '0 0 20 20', refX: '11', refY: '10', markerWidth: '20', markerHeight: '20',
      markerUnits: 'userSpaceOnUse', orient: 'auto',
    })) marker.setAttribute(k, v);
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M 1 5 L 11 10 L 1 15 Z');
    path.setAttribute('fill', colour);
    marker.append(path);
    defs.append(marker);
  }
  svg.append(defs);
  document.body.append(svg);
}

function applyState(viewer, state) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const overlays = viewer.get('overlays');
  // Ids from another diagram version may be missing here; they are skipped, not fatal.
  const mark = (id, marker) => {
    if (typeof id !== 'string' || !registry.get(id)) return false;
    canvas.addMarker(id, marker);
    return true;
  };
  for (const id of state.completed || []) mark(id, 'egov-done');
  for (const id of state.taken_flows || []) mark(id, 'egov-done');
  for (const id of state.failed || []) mark(id, 'egov-failed');
  for (const item of state.active || []) {
    const id = typeof item === 'string' ? item : item && item.id;
    if (!mark(id, 'egov-active')) continue;
    canvas.removeMarker(id, 'egov-done');
    const label = item && item.label;
    if (label) {
      overlays.add(id, 'egov-badge', {
        position: { top: -14, left: -6 },
        scale: { min: 1 }, // stays readable when a large diagram is zoomed out to fit
        html: h('div', { class: 'egov-active-badge', title: label }, label),
      });
    }
  }
}

// Below this zoom a diagram's labels cannot be read: an instance's large diagram then opens on its current
// step at this zoom instead of the whole, unreadable overview ("适应" still shows the whole).
const READABLE_ZOOM = 0.75;

function focusOnCurrent(viewer, state) {
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  if (canvas.zoom() >= READABLE_ZOOM) return;
  const ids = [...(state.failed || []), ...(state.active || []).map((a) => (typeof a === 'string' ? a : a && a.id))];
  const element = ids.map((id) => typeof id === 'string' && registry.get(id)).find(Boolean);
  if (!element) return;
  const { outer } = canvas.viewbox();
  const width = outer.width / READABLE_ZOOM;
  const height = outer.height / READABLE_ZOOM;
  canvas.viewbox({
    x: element.x + element.width / 2 - width / 2,
    y: element.y + element.height / 2 - height / 2,
    width,
    height,
  });
}

function zoomBar(viewer) {
  const canvas = viewer.get('canvas');
  const zoomBy = (factor) => canvas.zoom(Math.min(4, Math.max(0.2, canvas.zoom() * factor)));
  return h(
    'div',
    { class: 'egov-zoom', role: 'toolbar', 'aria-label': '缩放' },
    h('button', { type: 'button', title: '放大', 'aria-label': '放大', onclick: () => zoomBy(1.25) }, '＋'),
    h('button', { type: 'button', title: '缩小', 'aria-label': '缩小', onclick: () => zoomBy(0.8) }, '－'),
    h('button', { type: 'button', title: '适应画布', onclick: () => canvas.zoom('fit-viewport', 'auto') }, '适应'),
  );
}

// The diagram is one tab stop: bpmn-js's own focusable <svg>, named, with its keys explained. Besides
// bpmn-js's Ctrl+方向键, plain arrows pan and + / - / 0 zoom, as the hint says.
const PAN_STEP = 60;

function keyboardAccess(viewer, canvasEl, hintId) {
  const canvas = viewer.get('canvas');
  const svg = canvasEl.querySelector('svg');
  if (!svg) return;
  svg.setAttribute('tabindex', '0');
  svg.setAttribute('role', 'application');
  svg.setAttribute('aria-roledescription', '流程图');
  svg.setAttribute('aria-label', '流程图');
  svg.setAttribute('aria-describedby', hintId);
  svg.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return; // bpmn-js handles Ctrl+方向键 itself
    const step = event.shiftKey ? PAN_STEP * 4 : PAN_STEP;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[event.key]) {
      canvas.scroll({ dx: moves[event.key][0], dy: moves[event.key][1] });
    } else if (event.key === '+' || event.key === '=') {
      canvas.zoom(Math.min(4, canvas.zoom() * 1.25));
    } else if (event.key === '-' || event.key === '_') {
      canvas.zoom(Math.max(0.2, canvas.zoom() * 0.8));
    } else if (event.key === '0') {
      canvas.zoom('fit-viewport', 'auto');
    } else {
      return;
    }
    event.preventDefault();
  });
}

let hintCount = 0;

function legend() {
  const item = (cls, text) => h('span', { class: `egov-legend-item ${cls}` }, h('i'), text);
  return h(
    'div',
    { class: 'egov-legend' },
    item('is-done', '已完成'),
    item('is-active', '进行中'),
    item('is-failed', '出错'),
  );
}

async function mountViewer(el) {
  const xmlUrl = el.dataset.xmlUrl;
  const stateUrl = el.dataset.stateUrl;
  el.classList.add('egov-viewer');
  el.replaceChildren();
  const canvasEl = h('div', { class: 'egov-canvas' });
  hintCount += 1;
  const hint = h(
    'p',
    { class: 'egov-keys-hint', id: `egov-keys-hint-${hintCount}` },
    '键盘操作：选中流程图后，方向键平移（按住 Shift 移得更快），+ / - 缩放，0 适应画布。',
  );
  const message = h('div', { class: 'egov-viewer-message', role: 'status' }, '正在加载流程图…');
  el.append(canvasEl, message);

  const showError = (text) => {
    message.className = 'egov-viewer-message alert-error';
    message.textContent = text;
    el.dataset.islandState = 'error';
  };

  if (!xmlUrl) {
    showError('流程图加载失败：未指定流程图地址');
    return;
  }

  const statePromise = stateUrl ? getJSON(stateUrl).then((s) => ({ s }), (e) => ({ e })) : null;
  let xml;
  try {
    xml = await getText(xmlUrl);
  } catch (err) {
    canvasEl.remove();
    showError(`流程图加载失败：${err.message}`);
    return;
  }

  const viewer = new NavigatedViewer({ container: canvasEl });
  el.egovViewer = viewer; // handle for page scripts and browser tests
  try {
    await viewer.importXML(xml);
  } catch (err) {
    canvasEl.remove();
    showError(`流程图加载失败：文件不是有效的 BPMN 图（${err.message}）`);
    return;
  }
  viewer.get('canvas').zoom('fit-viewport', 'auto');
  keyboardAccess(viewer, canvasEl, hint.id);
  el.append(zoomBar(viewer), hint);

  if (statePromise) {
    ensureArrowDefs();
    const { s, e } = await statePromise;
    if (e) {
      message.className = 'egov-viewer-message alert-error';
      message.textContent = `运行状态加载失败：${e.message}`;
      return;
    }
    applyState(viewer, s || {});
    focusOnCurrent(viewer, s || {});
    el.append(legend());
  }
  message.remove();
}

mountAll('[data-bpmn-viewer]', mountViewer);
