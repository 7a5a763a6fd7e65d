// Process modeler island: bpmn-js Modeler with a SpiffWorkflow properties panel, validate,
// deploy and download.
//
// <div data-bpmn-modeler
//      data-xml-url="/…/diagram.bpmn"   GET → XML; an empty attribute starts a blank diagram
//      data-validate-url="/…"           POST {"files": {"<name>.bpmn": xml}} → {"ok", "problems": [{file, element_id, message}]}
//      data-deploy-url="/…"             POST same body → 201 {"versions": [{process_id, version, created}]}
//                                        (`created`: true, or the time it was made, for a new version; false
//                                        when the process was unchanged and its latest version stays)
//                                        or 4xx {"code", "message", "errors"}
//      data-forms-url="/…"              GET → [{"name", "title"}]
//      data-handlers-url="/…"           GET → [{"operator", "title", "params": [name]}]
//      data-roles-url="/…"              GET → [{"code", "name"}]
//      data-file-name="project.bpmn"></div>
// POSTs carry the X-CSRFToken header from <meta name="csrf-token">.
import Modeler from 'bpmn-js/lib/Modeler';

import './bpmn/modeler.css';
import spiffworkflow from './bpmn/spiffworkflow.json';
import translateModule from './bpmn/translate-zh.js';
import { blankDiagram } from './bpmn/blank.js';
import { PropertiesPanel } from './bpmn/properties-panel.js';
import { getJSON, getText, postJSON } from './lib/http.js';
import { h, mountAll } from './lib/dom.js';
import { DEPLOY_QUESTION, deployedVersions, errorsToProblems } from './lib/deploy.js';

const INVALID = 'egov-invalid';

/** Fit the diagram into the part of the canvas the palette does not cover. */
function fitBesidePalette(modeler, container) {
  const canvas = modeler.get('canvas');
  canvas.zoom('fit-viewport', 'auto');
  const { inner, outer } = canvas.viewbox();
  const palette = container.querySelector('.djs-palette');
  const left = palette ? palette.offsetLeft + palette.offsetWidth + 16 : 16;
  const pad = 24;
  if (!inner.width || !inner.height || outer.width <= left + pad) return;
  const scale = Math.min(1, (outer.width - left - pad) / inner.width, (outer.height - 2 * pad) / inner.height);
  const spareX = outer.width - left - pad - inner.width * scale;
  const spareY = outer.height - inner.height * scale;
  canvas.viewbox({
    x: inner.x - (left + spareX / 2) / scale,
    y: inner.y - spareY / 2 / scale,
    width: outer.width / scale,
    height: outer.height / scale,
  });
}

async function loadCatalog(url) {
  if (!url) return null;
  try {
    const list = await getJSON(url);
    return Array.isArray(list) ? list : null;
  } catch {
    return null; // the panel falls back to free text inputs
  }
}

function fileNameOf(el) {
  const name = (el.dataset.fileName || '').trim() || 'diagram.bpmn';
  return /\.(bpmn|xml)$/i.test(name) ? name : `${name}.bpmn`;
}

/** "（新版本）" or "（无变化）" for a deploy result's `created` (a boolean, or the time a new version was made). */


async function mountModeler(el) {
  const d = el.dataset;
  const fileName = fileNameOf(el);
  el.classList.add('egov-modeler');
  el.replaceChildren();

  const status = h('span', { class: 'egov-status', role: 'status', 'aria-live': 'polite' });
  const validateBtn = h('button', { type: 'button', class: 'btn' }, '校验');
  const deployBtn = h('button', { type: 'button', class: 'btn btn-primary' }, '部署新版本');
  const downloadBtn = h('button', { type: 'button', class: 'btn' }, '下载 XML');
  const undoBtn = h('button', { type: 'button', class: 'btn', title: '撤销（Ctrl+Z）' }, '撤销');
  const redoBtn = h('button', { type: 'button', class: 'btn', title: '重做（Ctrl+Y）' }, '重做');
  const fitBtn = h('button', { type: 'button', class: 'btn', title: '适应画布' }, '适应画布');
  if (!d.validateUrl) validateBtn.hidden = true;
  if (!d.deployUrl) deployBtn.hidden = true;
  const toolbar = h(
    'div',
    { class: 'egov-toolbar', role: 'toolbar', 'aria-label': '建模工具栏' },
    h('span', { class: 'egov-file-name', title: '文件名' }, fileName),
    undoBtn,
    redoBtn,
    fitBtn,
    h('span', { class: 'egov-toolbar-gap' }),
    validateBtn,
    deployBtn,
    downloadBtn,
    status,
  );
  const canvasEl = h('div', { class: 'egov-canvas', tabindex: '0', 'aria-label': '流程图画布' });
  const panelEl = h('aside', { class: 'egov-panel', 'aria-label': '属性面板' }, h('p', {}, '正在加载…'));
  const results = h('div', { class: 'egov-results', 'aria-live': 'polite' });
  el.append(toolbar, h('div', { class: 'egov-workspace' }, canvasEl, panelEl), results);

  const setStatus = (text, kind = '') => {
    status.textContent = text;
    status.className = `egov-status ${kind}`;
  };

  let xml;
  try {
    xml = d.xmlUrl ? await getText(d.xmlUrl) : blankDiagram();
  } catch (err) {
    el.replaceChildren(h('div', { class: 'alert-error egov-viewer-message' }, `流程图加载失败：${err.message}`));
    el.dataset.islandState = 'error';
    return;
  }

  const modeler = new Modeler({
    container: canvasEl,
    moddleExtensions: { spiffworkflow },
    additionalModules: [translateModule],
  });
  el.egovModeler = modeler; // handle for page scripts and browser tests

  const [forms, handlers, roles, lanes] = await Promise.all([
    loadCatalog(d.formsUrl),
    loadCatalog(d.handlersUrl),
    loadCatalog(d.rolesUrl),
    loadCatalog(d.lanesUrl),
  ]);
  // The panel subscribes to import.done, so it must exist before importXML.
  new PropertiesPanel(modeler, panelEl, { forms, handlers, roles, lanes });

  try {
    const { warnings } = await modeler.importXML(xml);
    if (warnings.length) {
      setStatus(`已加载，但有 ${warnings.length} 处内容无法识别，保存时可能丢失`, 'is-warn');
      console.warn(warnings);
    }
  } catch (err) {
    el.replaceChildren(
      h('div', { class: 'alert-error egov-viewer-message' }, `流程图加载失败：文件不是有效的 BPMN 图（${err.message}）`),
    );
    el.dataset.islandState = 'error';
    return;
  }
  const canvas = modeler.get('canvas');
  const commandStack = modeler.get('commandStack');
  const registry = modeler.get('elementRegistry');
  fitBesidePalette(modeler, canvasEl);

  let dirty = false;
  let marked = [];
  const refreshUndo = () => {
    undoBtn.disabled = !commandStack.canUndo();
    redoBtn.disabled = !commandStack.canRedo();
  };
  refreshUndo();
  modeler.on('commandStack.changed', () => {
    dirty = true;
    refreshUndo();
  });
  window.addEventListener('beforeunload', (event) => {
    if (dirty) event.preventDefault(); // the browser shows its own "leave page?" prompt
  });
  undoBtn.addEventListener('click', () => commandStack.undo());
  redoBtn.addEventListener('click', () => commandStack.redo());
  fitBtn.addEventListener('click', () => fitBesidePalette(modeler, canvasEl));

  const body = async () => {
    const { xml: text } = await modeler.saveXML({ format: true });
    return { files: { [fileName]: text } };
  };

  const clearMarks = () => {
    for (const id of marked) if (registry.get(id)) canvas.removeMarker(id, INVALID);
    marked = [];
  };

  const focusElement = (id) => {
    const element = registry.get(id);
    if (!element) return;
    // Elements inside a collapsed sub-process live on another plane: switch to it first.
    const root = canvas.findRoot(element);
    if (root && root !== canvas.getRootElement()) canvas.setRootElement(root);
    canvas.scrollToElement(element);
    modeler.get('selection').select(element);
  };

  const showProblems = (title, problems, kind = 'alert-error') => {
    clearMarks();
    const items = problems.map((p) => {
      const id = p.element_id;
      const element = id ? registry.get(id) : null;
      if (element) {
        canvas.addMarker(element, INVALID);
        marked.push(id);
      }
      const name = element && element.businessObject.name;
      const where = id ? `${name ? `${name}（${id}）` : id}：` : '';
      const fileNote = p.file && p.file !== fileName ? `［${p.file}］` : '';
      const text = `${fileNote}${where}${p.message || ''}`;
      return h(
        'li',
        {},
        element
          ? h('button', { type: 'button', class: 'egov-link-btn', onclick: () => focusElement(id) }, text)
          : text,
      );
    });
    results.replaceChildren(
      h('div', { class: kind }, h('strong', {}, title), items.length ? h('ul', { class: 'egov-problems' }, items) : null),
    );
  };

  const busy = (on) => {
    validateBtn.disabled = on;
    deployBtn.disabled = on;
  };

  validateBtn.addEventListener('click', async () => {
    busy(true);
    setStatus('校验中…');
    try {
      const { body: result } = await postJSON(d.validateUrl, await body());
      const problems = (result && result.problems) || [];
      if (result && result.ok && !problems.length) {
        clearMarks();
        results.replaceChildren(h('div', { class: 'alert-info' }, '校验通过，未发现问题。'));
        setStatus('校验通过', 'is-ok');
      } else {
        showProblems(`校验发现 ${problems.length} 个问题：`, problems);
        setStatus(`发现 ${problems.length} 个问题`, 'is-error');
      }
    } catch (err) {
      const problems = errorsToProblems(err.body && (err.body.problems || err.body.errors));
      showProblems(`校验失败：${err.message}`, problems);
      setStatus('校验失败', 'is-error');
    } finally {
      busy(false);
    }
  });

  deployBtn.addEventListener('click', async () => {
    if (!window.confirm(DEPLOY_QUESTION)) return;
    busy(true);
    deployBtn.textContent = '部署中…';
    setStatus('部署中…');
    try {
      const { body: result } = await postJSON(d.deployUrl, await body());
      clearMarks();
      const { node, unchanged } = deployedVersions(result, '本页仍以原版本为底；如需在新版本上继续修改，请从新版本打开建模器。');
      results.replaceChildren(node);
      setStatus(unchanged ? '无变化' : '部署成功', 'is-ok');
      dirty = false;
    } catch (err) {
      const problems = errorsToProblems(err.body && err.body.errors);
      showProblems(`部署失败：${err.message}`, problems);
      setStatus('部署失败，原版本仍在使用', 'is-error');
    } finally {
      deployBtn.textContent = '部署新版本';
      busy(false);
    }
  });

  downloadBtn.addEventListener('click', async () => {
    try {
      const { xml: text } = await modeler.saveXML({ format: true });
      const url = URL.createObjectURL(new Blob([text], { type: 'application/xml;charset=utf-8' }));
      const link = h('a', { href: url, download: fileName, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      setStatus(`导出失败：${err.message}`, 'is-error');
    }
  });
}

mountAll('[data-bpmn-modeler]', mountModeler);
