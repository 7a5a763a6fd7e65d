// DOM helpers for the islands: a tiny element builder and the mount loop.

/**
 * Build an element: h('button', {class: 'btn', onclick: fn, disabled: true}, '文字', child).
 * Attributes starting with "on" become listeners; `false`/`null` attributes are skipped;
 * children may be strings, nodes, arrays, or null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'value' || key === 'checked' || key === 'selected') {
      el[key] = value; // properties, not attributes, so they reflect the live state
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Mount `init(el)` on every element matching `selector`, once each, after the DOM is ready.
 * The element's data-island-state goes loading → ready | error, which tests wait on.
 */
export function mountAll(selector, init) {
  const run = () => {
    for (const el of document.querySelectorAll(selector)) {
      if (el.dataset.islandState) continue;
      el.dataset.islandState = 'loading';
      Promise.resolve()
        .then(() => init(el))
        .then(
          () => {
            if (el.dataset.islandState === 'loading') el.dataset.islandState = 'ready';
          },
          (err) => {
            el.dataset.islandState = 'error';
            console.error(err);
          },
        );
    }
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
  else run();
}

let idCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = 'egov') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** "YYYY-MM-DD HH:MM:SS" in 六安 local time, whatever the browser's time zone (see time.js). */
export { formatDateTime } from './time.js';
