// Render a JSON Schema (2020-12 subset) as an HTML form bound to a plain data object.
//
// Every widget reads and writes `this.data` by path (["items", 0, "amount"]); `fields` maps
// each path key ("items.0.amount") to its row so client and server errors land next to the
// field they are about. The ui schema is RJSF-shaped: ui[property] for object members,
// ui.items for array items, with "ui:widget" (textarea | radio | checkbox | select | hidden),
// "ui:order", "ui:placeholder", "ui:help", "ui:readonly", "ui:options": {"rows", "accept", "kind"}.
// A `const: true` boolean is a declaration to tick; uploaded files whose schema has a `kind` get a
// 材料类型 picker (or the field's fixed kind); `"x-default": "today"` fills a date when the form opens, "me"
// the name of whoever fills it in.
// "Required only when …" (`if`/`then`/`else`) follows the values: the marker is updated as the user edits.
import { h, uid } from '../lib/dom.js';
import { uploadFile } from '../lib/http.js';
import {
  applyDefaults, attachmentKind, choicesOf, clone, getIn, isAttachment, isConsent, isMoney, normalisePath,
  pathKey, prune, requiredFor, resolve, schemaType, setIn, unitOf,
} from './schema.js';
import { formatMoney, formatSize, fromLocalInput, parseNumber, roundCents, toLocalInput } from './format.js';
import { validate } from './validate.js';

const LONG_TEXT = 200; // maxLength above this gets a textarea

/** The red asterisk and the screen reader's （必填） after a required field's label. */
function requiredMarker(on) {
  return on
    ? [h('span', { class: 'required', 'aria-hidden': 'true' }, '*'), h('span', { class: 'sr-only required-text' }, '（必填）')]
    : [];
}

function uiOption(ui, name) {
  if (!ui) return undefined;
  if (ui[`ui:${name}`] !== undefined) return ui[`ui:${name}`];
  return ui['ui:options'] ? ui['ui:options'][name] : undefined;
}

function orderedKeys(schema, ui) {
  const keys = Object.keys(schema.properties || {});
  const order = uiOption(ui, 'order');
  if (!Array.isArray(order)) return keys;
  const rest = keys.filter((k) => !order.includes(k));
  const out = [];
  for (const k of order) {
    if (k === '*') out.push(...rest);
    else if (keys.includes(k)) out.push(k);
  }
  if (!order.includes('*')) out.push(...rest);
  return out;
}

export class JsonSchemaForm {
  /**
   * @param {object} options
   *   schema, ui, data  — as served by data-schema-url
   *   uploadUrl         — where attachments are POSTed (may be empty: uploads disabled)
   *   readOnly          — render everything as read-only
   *   userName          — who fills the form in (for `"x-default": "me"`)
   */
  constructor({ schema, ui, data, uploadUrl, readOnly = false, userName = '' }) {
    this.rootSchema = schema || { type: 'object', properties: {} };
    this.ui = ui || {};
    this.uploadUrl = uploadUrl;
    this.readOnly = readOnly;
    this.live = { live: !readOnly, userName }; // what fills `"x-default"` fields as the form opens
    this.data = applyDefaults(this.rootSchema, clone(data) || {}, this.rootSchema, this.live) || {};
    this.fields = new Map();
    this.requiredMarks = []; // [{parentPath, parentSchema, name, set(on), on}] of fields whose marker may change
    this.pendingUploads = 0;
    this.summary = h('div', { class: 'form-summary', tabindex: '-1', hidden: true });
    this.element = h('div', { class: 'jsonschema-form' }, this.summary, this.renderRoot());
    if (!readOnly) {
      // The controls' own handlers have updated this.data by the time the event bubbles up here.
      for (const type of ['input', 'change', 'click']) this.element.addEventListener(type, () => this.refreshRequired());
    }
  }

  /** Show the required marker where the conditions (`if`/`then`) that hold for the current values put it. */
  refreshRequired() {
    const byParent = new Map();
    for (const mark of this.requiredMarks) {
      const key = pathKey(mark.parentPath);
      if (!byParent.has(key)) {
        const value = mark.parentPath.length ? getIn(this.data, mark.parentPath) : this.data;
        byParent.set(key, new Set(requiredFor(mark.parentSchema, value, this.rootSchema)));
      }
      const on = byParent.get(key).has(mark.name);
      if (on !== mark.on) {
        mark.on = on;
        mark.set(on);
      }
    }
  }

  // --- public API -------------------------------------------------------------------------------

  getData() {
    return prune(clone(this.data) || {});
  }

  validate() {
    return validate(this.rootSchema, this.data, this.rootSchema);
  }

  clearErrors() {
    for (const field of this.fields.values()) this.setFieldError(field, null);
    this.summary.hidden = true;
    this.summary.replaceChildren();
  }

  /**
   * Show `errors` ({"a.0.b": ["消息"]}) next to their fields and as a summary, then scroll to
   * the first one. A path with no field of its own goes to its nearest rendered ancestor.
   */
  showErrors(errors, message) {
    this.clearErrors();
    const items = [];
    const byField = new Map();
    for (const [rawPath, rawMessages] of Object.entries(errors || {})) {
      const messages = [].concat(rawMessages).map(String);
      const field = this.findField(normalisePath(rawPath));
      if (field) {
        byField.set(field, [...(byField.get(field) || []), ...messages]);
      }
      for (const text of messages) items.push({ field, text });
    }
    for (const [field, messages] of byField) this.setFieldError(field, messages.join('；'));
    // List them in the order a person reads the form; errors without a field go last.
    const before = (a, b) => (a.row.compareDocumentPosition(b.row) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    items.sort((a, b) => (a.field && b.field ? before(a.field, b.field) : a.field ? -1 : b.field ? 1 : 0));

    const count = items.length;
    const heading = message || (count ? `有 ${count} 处需要修改，请检查后重新提交。` : '提交失败。');
    this.summary.replaceChildren(
      h('strong', {}, heading),
      ...(count
        ? [h(
            'ul',
            {},
            items.map(({ field, text }) =>
              h(
                'li',
                {},
                field
                  ? h('a', { href: `#${field.focusId}`, onclick: (e) => { e.preventDefault(); this.focusField(field); } },
                      field.title ? `${field.title}：${text}` : text)
                  : text,
              ),
            ),
          )]
        : []),
    );
    this.summary.className = 'form-summary alert-error';
    this.summary.setAttribute('role', 'alert');
    this.summary.hidden = false;

    const first = [...byField.keys()].sort(before)[0];
    if (first) this.focusField(first);
    else this.summary.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  showMessage(message) {
    this.showErrors({}, message);
  }

  // --- error plumbing ---------------------------------------------------------------------------

  findField(key) {
    let parts = key === '' ? [] : key.split('.');
    while (parts.length) {
      const field = this.fields.get(parts.join('.'));
      if (field) return field;
      parts = parts.slice(0, -1);
    }
    return null;
  }

  setFieldError(field, text) {
    field.row.classList.toggle('has-error', !!text);
    field.errorBox.hidden = !text;
    field.errorBox.textContent = text || '';
    const control = document.getElementById(field.focusId);
    if (control) {
      if (text) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
  }

  /** Drop the message at one field once its value has been put right (the summary stays until the next check). */
  clearFieldError(path) {
    const field = this.fields.get(pathKey(path));
    if (field) this.setFieldError(field, null);
  }

  focusField(field) {
    field.row.scrollIntoView({ behavior: 'smooth', block: 'center' });
    const control = document.getElementById(field.focusId);
    if (control) control.focus({ preventScroll: true });
  }

  register(path, row, errorBox, focusId, title) {
    this.fields.set(pathKey(path), { row, errorBox, focusId, title });
  }

  forget(prefix) {
    const key = pathKey(prefix);
    for (const k of [...this.fields.keys()]) {
      if (k === key || k.startsWith(`${key}.`)) this.fields.delete(k);
    }
  }

  // --- rendering --------------------------------------------------------------------------------

  renderRoot() {
    const schema = resolve(this.rootSchema, this.rootSchema);
    const body = h('div', { class: 'form-body' });
    if (schema.description) body.append(h('p', { class: 'form-help form-intro' }, schema.description));
    if (schemaType(schema) === 'object' && !isAttachment(schema)) {
      const required = requiredFor(this.rootSchema, this.data, this.rootSchema);
      for (const name of orderedKeys(schema, this.ui)) {
        const node = this.renderNode(schema.properties[name], [name], this.ui[name], {
          required: required.includes(name),
          fallbackTitle: name,
          requiredIn: { parentPath: [], parentSchema: this.rootSchema, name },
        });
        if (node) body.append(node);
      }
    } else {
      body.append(h('p', { class: 'alert-error' }, '表单定义不正确：根节点必须是对象'));
    }
    return body;
  }

  /** Render any schema node at `path`; `inCell` drops the label (table cells have headers). */
  renderNode(rawSchema, path, ui, {
    required = false, fallbackTitle = '', inCell = false, readOnly = false, summaryTitle = null, requiredIn = null,
  } = {}) {
    const schema = resolve(rawSchema, this.rootSchema);
    if (uiOption(ui, 'widget') === 'hidden') return null;
    if (schema.const !== undefined && !isConsent(schema)) {
      // A fixed value the user cannot change: send it when the schema asks for it.
      if (required && !this.readOnly && getIn(this.data, path) === undefined) setIn(this.data, path, clone(schema.const));
      return null;
    }
    const ctx = {
      schema,
      rawSchema,
      path,
      ui: ui || {},
      required,
      requiredIn, // {parentPath, parentSchema, name}: where to look up whether the field is required now
      inCell,
      title: uiOption(ui, 'title') || schema.title || fallbackTitle,
      summaryTitle, // how the error summary names a table cell: "投资明细第 1 行 · 金额"
      readOnly: this.readOnly || readOnly || !!schema.readOnly || !!uiOption(ui, 'readonly') || !!uiOption(ui, 'disabled'),
    };
    const type = schemaType(schema);
    if (isConsent(schema)) return this.consentField(ctx);
    if (isAttachment(schema)) return this.attachmentField(ctx, false);
    if (type === 'object') return this.objectField(ctx);
    if (type === 'array') {
      const items = resolve(schema.items || {}, this.rootSchema);
      if (isAttachment(items)) return this.attachmentField(ctx, true);
      if (choicesOf(items)) return this.checkboxGroup(ctx, items);
      return this.tableField(ctx, items);
    }
    return this.scalarField(ctx, type);
  }

  /** The label + control + help + error layout shared by every leaf field. */
  row(ctx, control, { focusId, labelFor = true, wide = false, suffix = null, describe = true } = {}) {
    const errorId = uid('err');
    const helpText = uiOption(ctx.ui, 'help') || (ctx.inCell || !describe ? null : ctx.schema.description);
    const helpId = helpText ? uid('help') : null;
    const errorBox = h('div', { class: 'field-error', id: errorId, hidden: true, 'aria-live': 'polite' });
    const controlEl = control;
    if (focusId) {
      // Not yet in the document, so look the focus target up inside the control itself.
      const focusEl = controlEl.id === focusId ? controlEl : controlEl.querySelector(`#${CSS.escape(focusId)}`);
      if (focusEl) focusEl.setAttribute('aria-describedby', [helpId, errorId].filter(Boolean).join(' '));
    }
    const label = ctx.inCell
      ? null
      : h(
          labelFor ? 'label' : 'span',
          { class: 'form-label', for: labelFor ? focusId : null, id: labelFor ? null : `${focusId}-label` },
          ctx.title,
          ...requiredMarker(ctx.required),
        );
    if (label && ctx.requiredIn && !ctx.readOnly) {
      const focusEl = focusId
        ? (controlEl.id === focusId ? controlEl : controlEl.querySelector(`#${CSS.escape(focusId)}`))
        : null;
      this.requiredMarks.push({
        ...ctx.requiredIn,
        on: ctx.required,
        set: (on) => {
          for (const old of label.querySelectorAll('.required, .sr-only.required-text')) old.remove();
          label.append(...requiredMarker(on));
          if (focusEl && /^(INPUT|SELECT|TEXTAREA)$/.test(focusEl.tagName)) {
            if (on) focusEl.setAttribute('aria-required', 'true');
            else focusEl.removeAttribute('aria-required');
          }
        },
      });
    }
    const row = h(
      'div',
      {
        class: `form-row${wide ? ' form-row-wide' : ''}${ctx.readOnly ? ' is-readonly' : ''}${ctx.inCell ? ' form-cell' : ''}`,
        'data-path': pathKey(ctx.path),
      },
      label,
      h(
        'div',
        { class: 'form-control' },
        suffix ? h('div', { class: 'input-group' }, controlEl, h('span', { class: 'input-suffix' }, suffix)) : controlEl,
        helpText ? h('div', { class: 'form-help', id: helpId }, helpText) : null,
        errorBox,
      ),
    );
    this.register(ctx.path, row, errorBox, focusId, ctx.summaryTitle || ctx.title);
    return row;
  }

  objectField(ctx) {
    const { schema, path } = ctx;
    const required = requiredFor(ctx.rawSchema, getIn(this.data, path), this.rootSchema);
    const children = orderedKeys(schema, ctx.ui).map((name) =>
      this.renderNode(schema.properties[name], [...path, name], ctx.ui[name], {
        required: required.includes(name),
        fallbackTitle: name,
        readOnly: ctx.readOnly,
        requiredIn: { parentPath: path, parentSchema: ctx.rawSchema, name },
      }),
    );
    const errorBox = h('div', { class: 'field-error', hidden: true });
    const id = uid('obj');
    const fieldset = h(
      'fieldset',
      { class: 'form-fieldset', 'data-path': pathKey(path), id, tabindex: '-1' },
      ctx.title ? h('legend', {}, ctx.title) : null,
      schema.description ? h('p', { class: 'form-help' }, schema.description) : null,
      errorBox,
      ...children.filter(Boolean),
    );
    this.register(path, fieldset, errorBox, id, ctx.title);
    return fieldset;
  }

  /** `const: true`: one checkbox labelled with the declaration's text; ticked → true, else left out. */
  consentField(ctx) {
    const id = uid('f');
    const box = h('input', {
      type: 'checkbox', id, checked: getIn(this.data, ctx.path) === true, disabled: ctx.readOnly,
      'aria-required': ctx.required ? 'true' : null,
      onchange: (e) => {
        setIn(this.data, ctx.path, e.target.checked ? true : undefined);
        if (e.target.checked) this.clearFieldError(ctx.path);
      },
    });
    const text = ctx.schema.description || ctx.title;
    const control = h('label', { class: 'form-check form-consent' }, box, h('span', {}, text));
    return this.row(ctx, control, { focusId: id, wide: true, describe: false });
  }

  scalarField(ctx, type) {
    const { schema, path } = ctx;
    const id = uid('f');
    const value = getIn(this.data, path);
    const choices = choicesOf(schema);
    const widget = uiOption(ctx.ui, 'widget');
    const set = (v) => setIn(this.data, path, v);

    if (type === 'boolean') {
      if (widget === 'checkbox') {
        const box = h('input', {
          type: 'checkbox', id, checked: value === true, disabled: ctx.readOnly,
          onchange: (e) => set(e.target.checked),
        });
        if (value === undefined && !ctx.readOnly) set(false);
        return this.row(ctx, h('label', { class: 'form-check' }, box, h('span', {}, '是')), { focusId: id });
      }
      return this.radioGroup(ctx, id, [{ value: true, label: '是' }, { value: false, label: '否' }], value);
    }

    if (choices) {
      if (widget === 'radio') return this.radioGroup(ctx, id, choices, value);
      const index = choices.findIndex((c) => c.value === value);
      const select = h(
        'select',
        {
          id, disabled: ctx.readOnly, 'aria-required': ctx.required ? 'true' : null,
          onchange: (e) => set(e.target.value === '' ? undefined : choices[Number(e.target.value)].value),
        },
        h('option', { value: '' }, uiOption(ctx.ui, 'placeholder') || '请选择'),
        choices.map((c, i) => h('option', { value: String(i), selected: i === index }, c.label)),
      );
      return this.row(ctx, select, { focusId: id });
    }

    if (type === 'number' || type === 'integer') return this.numberField(ctx, id, type, value);

    const common = {
      id,
      readonly: ctx.readOnly,
      placeholder: uiOption(ctx.ui, 'placeholder') || null,
      'aria-required': ctx.required ? 'true' : null,
      'aria-label': ctx.inCell ? ctx.title : null,
    };
    const format = schema.format;
    if (format === 'date-time') {
      const input = h('input', {
        ...common, type: 'datetime-local', value: toLocalInput(value),
        oninput: (e) => set(fromLocalInput(e.target.value)),
      });
      return this.row(ctx, input, { focusId: id });
    }
    const useTextarea = widget === 'textarea' || (schema.maxLength || 0) > LONG_TEXT;
    if (useTextarea) {
      const counter = schema.maxLength ? h('div', { class: 'char-count' }) : null;
      const updateCount = (text) => {
        if (counter) counter.textContent = `${[...text].length} / ${schema.maxLength}`;
      };
      const area = h('textarea', {
        ...common,
        rows: uiOption(ctx.ui, 'rows') || 4,
        maxlength: schema.maxLength || null,
        value: value ?? '',
        oninput: (e) => {
          set(e.target.value === '' ? undefined : e.target.value);
          updateCount(e.target.value);
        },
      });
      updateCount(area.value);
      return this.row(ctx, h('div', { class: 'textarea-wrap' }, area, counter), { focusId: id, wide: true });
    }
    const inputType = { date: 'date', email: 'email', uri: 'url' }[format] || 'text';
    const input = h('input', {
      ...common,
      type: inputType,
      maxlength: schema.maxLength || null,
      value: value ?? '',
      autocomplete: format === 'email' ? 'email' : 'off',
      oninput: (e) => set(e.target.value === '' ? undefined : e.target.value),
    });
    return this.row(ctx, input, { focusId: id, suffix: unitOf(schema) });
  }

  numberField(ctx, id, type, value) {
    const { schema, path } = ctx;
    const money = isMoney(schema);
    const show = (v) => (typeof v !== 'number' ? '' : money ? formatMoney(v) : String(v));
    const input = h('input', {
      id,
      type: 'text',
      inputmode: type === 'integer' ? 'numeric' : 'decimal',
      class: money ? 'input-money' : 'input-number',
      readonly: ctx.readOnly,
      value: show(value),
      placeholder: uiOption(ctx.ui, 'placeholder') || (money ? '0.00' : null),
      'aria-required': ctx.required ? 'true' : null,
      'aria-label': ctx.inCell ? ctx.title : null,
      oninput: (e) => setIn(this.data, path, parseNumber(e.target.value)),
      onblur: (e) => {
        const parsed = parseNumber(e.target.value);
        if (typeof parsed === 'number' && !Number.isNaN(parsed)) {
          const v = money ? roundCents(parsed) : parsed;
          setIn(this.data, path, v);
          e.target.value = show(v);
        }
      },
    });
    return this.row(ctx, input, { focusId: id, suffix: unitOf(schema) });
  }

  radioGroup(ctx, id, choices, value) {
    const name = uid('r');
    const group = h(
      'div',
      { class: 'check-group', role: 'radiogroup', 'aria-labelledby': `${id}-label`, id },
      choices.map((c, i) =>
        h(
          'label',
          { class: 'form-check' },
          h('input', {
            type: 'radio', name, value: String(i), checked: c.value === value, disabled: ctx.readOnly,
            id: i === 0 ? `${id}-0` : null,
            onchange: () => setIn(this.data, ctx.path, c.value),
          }),
          h('span', {}, c.label),
        ),
      ),
    );
    group.tabIndex = -1;
    return this.row(ctx, group, { focusId: id, labelFor: false });
  }

  checkboxGroup(ctx, items) {
    const id = uid('c');
    const choices = choicesOf(items);
    const current = () => (Array.isArray(getIn(this.data, ctx.path)) ? getIn(this.data, ctx.path) : []);
    const group = h(
      'div',
      { class: 'check-group', role: 'group', 'aria-labelledby': `${id}-label`, id, tabindex: '-1' },
      choices.map((c) =>
        h(
          'label',
          { class: 'form-check' },
          h('input', {
            type: 'checkbox', checked: current().includes(c.value), disabled: ctx.readOnly,
            onchange: (e) => {
              const set = new Set(current());
              if (e.target.checked) set.add(c.value);
              else set.delete(c.value);
              // Keep the schema's order, not the click order.
              setIn(this.data, ctx.path, choices.map((x) => x.value).filter((v) => set.has(v)));
            },
          }),
          h('span', {}, c.label),
        ),
      ),
    );
    return this.row(ctx, group, { focusId: id, labelFor: false, wide: true });
  }

  /** Arrays of objects (one column per property) or of scalars (one column): a table. */
  tableField(ctx, items) {
    const { schema, path } = ctx;
    const objectItems = schemaType(items) === 'object';
    const columns = objectItems
      ? orderedKeys(items, ctx.ui.items).map((name) => ({
          name,
          schema: resolve(items.properties[name], this.rootSchema),
          required: (items.required || []).includes(name),
          ui: (ctx.ui.items || {})[name],
        }))
      : [{ name: null, schema: items, required: true, ui: ctx.ui.items }];
    const visible = columns.filter((c) => uiOption(c.ui, 'widget') !== 'hidden' && c.schema.const === undefined);
    const id = uid('t');
    const tbody = h('tbody');
    const addBtn = h('button', { type: 'button', class: 'btn btn-small', id }, '添加一行');
    const list = () => (Array.isArray(getIn(this.data, path)) ? getIn(this.data, path) : []);

    const renderRows = () => {
      // Row paths shift when a row is removed, so the rows' fields are registered afresh.
      for (let i = 0; i < list().length + 1; i += 1) this.forget([...path, i]);
      const rows = list().map((item, index) =>
        h(
          'tr',
          {},
          visible.map((col) => {
            const cellPath = col.name === null ? [...path, index] : [...path, index, col.name];
            const title = col.schema.title || col.name || '值';
            return h(
              'td',
              { 'data-label': col.required && objectItems ? `${title} *` : title },
              this.renderNode(col.schema, cellPath, col.ui, {
                required: col.required, fallbackTitle: title, inCell: true, readOnly: ctx.readOnly,
                summaryTitle: `${ctx.title}第 ${index + 1} 行${col.name === null ? '' : ` · ${title}`}`,
              }),
            );
          }),
          ctx.readOnly
            ? null
            : h(
                'td',
                { class: 'row-actions' },
                h('button', {
                  type: 'button', class: 'btn btn-small btn-danger-link', 'aria-label': `删除第 ${index + 1} 行`,
                  disabled: schema.minItems !== undefined && list().length <= schema.minItems,
                  onclick: () => {
                    list().splice(index, 1);
                    renderRows();
                    // Focus stays in the table: the next row (now at this index), else the previous, else 添加一行.
                    const rowsLeft = list().length;
                    const target = rowsLeft ? tbody.children[Math.min(index, rowsLeft - 1)] : null;
                    const field = target && target.querySelector('input:not([type="hidden"]), select, textarea, button:not(:disabled)');
                    (field || addBtn).focus(); // a row fewer: 添加一行 is enabled again
                  },
                }, '删除'),
              ),
        ),
      );
      tbody.replaceChildren(
        ...(rows.length
          ? rows
          : [h('tr', { class: 'empty-row' }, h('td', { colspan: String(visible.length + 1) }, ctx.readOnly ? '暂无数据' : '暂无数据，点击“添加一行”'))]),
      );
      addBtn.disabled = schema.maxItems !== undefined && list().length >= schema.maxItems;
    };

    addBtn.addEventListener('click', () => {
      const next = [...list()];
      const blank = objectItems
        ? applyDefaults(items, {}, this.rootSchema, this.live) || {}
        : applyDefaults(items, undefined, this.rootSchema, this.live);
      next.push(blank);
      setIn(this.data, path, next);
      renderRows();
      const cells = tbody.lastElementChild && tbody.lastElementChild.querySelector('input, select, textarea');
      if (cells) cells.focus();
    });

    if (!Array.isArray(getIn(this.data, path)) && ctx.required) setIn(this.data, path, []);
    renderRows();
    const table = h(
      'div',
      { class: 'form-table-wrap' },
      h(
        'table',
        { class: 'table form-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            visible.map((col) =>
              h('th', { scope: 'col' }, col.schema.title || col.name || '值',
                col.required && objectItems ? h('span', { class: 'required', 'aria-hidden': 'true' }, '*') : null),
            ),
            ctx.readOnly ? null : h('th', { class: 'row-actions' }, h('span', { class: 'sr-only' }, '操作')),
          ),
        ),
        tbody,
      ),
    );
    const control = h('div', { class: 'form-table-field' }, table, ctx.readOnly ? null : addBtn);
    return this.row(ctx, control, { focusId: ctx.readOnly ? null : id, labelFor: false, wide: true });
  }

  attachmentField(ctx, multiple) {
    const { path, schema } = ctx;
    const id = uid('a');
    const items = multiple ? resolve(schema.items || {}, this.rootSchema) : schema;
    const accept = uiOption(ctx.ui, 'accept') || items['x-accept'] || schema['x-accept'] || null;
    const kind = attachmentKind(schema, items, ctx.ui, this.rootSchema);
    const listEl = h('ul', { class: 'attachment-list' });
    // Upload progress and results are announced: the area is a status region, a failure an alert.
    const progressEl = h('div', { class: 'attachment-progress', role: 'status' });
    const current = () => {
      const v = getIn(this.data, path);
      if (multiple) return Array.isArray(v) ? v : [];
      return v && typeof v === 'object' ? [v] : [];
    };
    const itemPath = (index) => (multiple ? [...path, index] : path);
    const pickLabel = h('label', { for: id, class: 'btn btn-small' }, '上传附件');
    let shown = 0; // files listed last time, whose per-file fields are registered
    const renderList = () => {
      const files = current();
      // Paths shift when a file is removed, so the per-file fields are registered afresh.
      for (let i = 0; i < Math.max(shown, files.length); i += 1) {
        if (multiple) this.forget([...path, i]);
        else this.forget([...path, 'kind']);
      }
      shown = files.length;
      pickLabel.textContent = !multiple && files.length ? '重新上传' : '上传附件';
      listEl.replaceChildren(
        ...(files.length
          ? files.map((file, index) => this.attachmentItem(ctx, file, itemPath(index), kind, multiple ? index : null, () => {
              if (multiple) setIn(this.data, path, files.filter((_, i) => i !== index));
              else setIn(this.data, path, undefined);
              renderList();
              // Focus goes to the next file's 移除, else the previous one's, else the file picker.
              const left = [...listEl.querySelectorAll('.attachment-remove')];
              (left[Math.min(index, left.length - 1)] || input).focus();
            }))
          : [h('li', { class: 'attachment-empty' }, '未上传')]),
      );
    };

    const input = h('input', {
      type: 'file', id, class: 'attachment-input', multiple: multiple || null, accept,
      disabled: ctx.readOnly || !this.uploadUrl,
      onchange: async (e) => {
        const chosen = [...e.target.files];
        e.target.value = '';
        // A new choice replaces the messages of the last one (a failure stays until then or until closed).
        for (const old of progressEl.querySelectorAll('.attachment-uploading.is-error, .attachment-done')) old.remove();
        for (const file of multiple ? chosen : chosen.slice(0, 1)) {
          await this.upload(file, { path, multiple, kind, progressEl, renderList });
        }
      },
    });
    const picker = ctx.readOnly
      ? null
      : h(
          'div',
          { class: 'attachment-picker' },
          input,
          pickLabel,
          this.uploadUrl ? null : h('span', { class: 'form-help' }, '（未配置上传地址，暂不能上传）'),
        );
    renderList();
    const control = h('div', { class: 'attachment' }, listEl, picker, progressEl);
    return this.row(ctx, control, { focusId: id, labelFor: !ctx.readOnly, wide: true });
  }

  /** One listed file: its name, size, 材料类型 (a picker, or a tag when read-only) and a remove button. */
  attachmentItem(ctx, file, filePath, kind, index, remove) {
    const name = file.filename || '（未命名文件）';
    const picker = kind && !ctx.readOnly ? this.kindPicker(ctx, file, filePath, kind, name) : null;
    const tagLabel = kind && ctx.readOnly ? this.kindLabel(file.kind, kind) : null;
    const errorBox = index === null ? null : h('div', { class: 'field-error', hidden: true, 'aria-live': 'polite' });
    const id = index === null ? null : uid('file');
    const li = h(
      'li',
      { class: picker ? 'has-kind' : null, id, tabindex: id ? '-1' : null, 'data-path': id ? pathKey(filePath) : null },
      h('span', { class: 'attachment-name' }, file.url ? h('a', { href: file.url, target: '_blank', rel: 'noopener' }, name) : name),
      file.size !== undefined ? h('span', { class: 'attachment-size' }, formatSize(file.size)) : null,
      tagLabel ? h('span', { class: 'attachment-kind-tag' }, tagLabel) : null,
      picker,
      ctx.readOnly
        ? null
        : h('button', { type: 'button', class: 'btn-link attachment-remove', 'aria-label': `移除 ${file.filename || ''}`, onclick: remove }, '移除'),
      errorBox,
    );
    // Errors about one file (such as "documents.2.sha256") are shown on its line.
    if (errorBox) this.register(filePath, li, errorBox, id, `${ctx.title}“${name}”`);
    return li;
  }

  /** How a read-only view names a file's kind: its choice's title, or free text; null for a fixed or unknown code. */
  kindLabel(value, kind) {
    if (value === undefined || value === null || value === '') return null;
    if (kind.choices) return kind.choices.find((c) => c.value === value)?.label ?? null;
    return kind.schema.const === undefined && kind.fixed === undefined ? String(value) : null;
  }

  /** The 材料类型 of one uploaded file: a select of the schema's kinds, or a text box for a free-text kind. */
  kindPicker(ctx, file, filePath, kind, name) {
    const kindPath = [...filePath, 'kind'];
    const id = uid('k');
    const errorBox = h('div', { class: 'field-error', id: uid('err'), hidden: true, 'aria-live': 'polite' });
    const set = (v) => {
      setIn(this.data, kindPath, v);
      if (v !== undefined) this.clearFieldError(kindPath);
    };
    let control;
    if (kind.choices) {
      const index = kind.choices.findIndex((c) => c.value === file.kind);
      control = h(
        'select',
        {
          id, 'aria-required': kind.required ? 'true' : null, 'aria-describedby': errorBox.id,
          onchange: (e) => set(e.target.value === '' ? undefined : kind.choices[Number(e.target.value)].value),
        },
        h('option', { value: '' }, '请选择'),
        kind.choices.map((c, i) => h('option', { value: String(i), selected: i === index }, c.label)),
      );
    } else if (kind.schema.const === undefined && kind.fixed === undefined && kind.required) {
      control = h('input', {
        id, type: 'text', value: file.kind ?? '', maxlength: kind.schema.maxLength || null, autocomplete: 'off',
        'aria-required': 'true', 'aria-describedby': errorBox.id,
        oninput: (e) => set(e.target.value === '' ? undefined : e.target.value),
      });
    } else {
      return null; // a fixed kind (set when the file was uploaded) or an optional free-text one
    }
    const wrap = h(
      'div',
      { class: 'attachment-kind', 'data-path': pathKey(kindPath) },
      h(
        'label',
        { class: 'attachment-kind-label', for: id },
        kind.title,
        h('span', { class: 'sr-only' }, `（${name}）`),
        kind.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, '*') : null,
        kind.required ? h('span', { class: 'sr-only' }, '（必填）') : null,
      ),
      control,
      errorBox,
    );
    this.register(kindPath, wrap, errorBox, id, `${ctx.title}“${name}”的${kind.title}`);
    return wrap;
  }

  /**
   * The kind a new upload starts with: the server's answer when it is one of the field's kinds, else the
   * kind the field declares (preselected), else none, so a kind the schema does not list is never sent.
   */
  uploadedKind(answer, kind) {
    const known = (v) => v !== undefined && v !== null && v !== '' && (!kind.choices || kind.choices.some((c) => c.value === v));
    if (kind.schema.const !== undefined) return kind.schema.const;
    if (known(answer)) return answer;
    return kind.fixed;
  }

  async upload(file, { path, multiple, kind, progressEl, renderList }) {
    const bar = h('progress', { max: '100', value: '0', 'aria-label': `上传进度 ${file.name}` });
    const text = h('span', { 'aria-hidden': 'true' }, '0%'); // the bar carries the value; no announcement per percent
    // Heard as "正在上传 <文件名>"; the name is written once on the page (tests and users find it by its text).
    const line = h(
      'div',
      { class: 'attachment-uploading' },
      h('span', { class: 'sr-only' }, '正在上传'),
      h('span', { class: 'attachment-name' }, file.name),
      bar,
      text,
    );
    progressEl.append(line);
    this.pendingUploads += 1;
    try {
      const fields = kind && kind.fixed !== undefined ? { kind: kind.fixed } : {};
      const meta = await uploadFile(this.uploadUrl, file, (fraction) => {
        const pct = Math.round(fraction * 100);
        bar.value = pct;
        text.textContent = `${pct}%`;
      }, fields);
      const stored = kind ? { ...meta, kind: this.uploadedKind(meta.kind, kind) } : meta;
      if (stored.kind === undefined) delete stored.kind;
      if (multiple) {
        const list = Array.isArray(getIn(this.data, path)) ? getIn(this.data, path) : [];
        setIn(this.data, path, [...list, stored]);
      } else {
        setIn(this.data, path, stored);
      }
      line.remove();
      renderList();
      for (const old of progressEl.querySelectorAll('.attachment-done')) old.remove();
      progressEl.append(h('span', { class: 'sr-only attachment-done' }, '上传完成，文件已列在上方'));
    } catch (err) {
      // The failure (a new alert element, so it is announced) stays until the user picks another file or
      // closes it.
      const failed = h(
        'div',
        { class: 'attachment-uploading is-error', role: 'alert' },
        h('span', { class: 'attachment-name' }, file.name),
        h('span', {}, `上传失败：${err.message}`),
        h('button', {
          type: 'button', class: 'btn-link attachment-dismiss', 'aria-label': `关闭“${file.name}”的上传失败提示`,
          onclick: () => {
            failed.remove();
            progressEl.closest('.attachment')?.querySelector('.attachment-input')?.focus();
          },
        }, '关闭'),
      );
      line.replaceWith(failed);
    } finally {
      this.pendingUploads -= 1;
    }
  }
}
