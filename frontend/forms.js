// JSON Schema form island.
//
// <div data-jsonschema-form
//      data-schema-url="/…"   GET → {"schema": {...}, "ui": {...} | null, "data": {...prefill}, "user_name"?}
//      data-submit-url="/…"   POST {"data": {...}} → 200 {"next_url"} | 409/422 {"code", "message", "errors": {"a.0.b": ["…"]}}
//      data-draft-url="/…"    POST {"data": {...}} → 200 {"saved_at"}   (optional: no button without it)
//      data-upload-url="/…"   POST multipart field "file" → {"id", "filename", "size", "sha256", "kind"?}
//      data-readonly>          (optional: display only, no buttons)
// </div>
// POSTs carry X-CSRFToken from <meta name="csrf-token">. Styles live in app.css.
import { getJSON, postJSON } from './lib/http.js';
import { formatDateTime, h, mountAll } from './lib/dom.js';
import { JsonSchemaForm } from './forms/renderer.js';

async function mountForm(el) {
  const d = el.dataset;
  el.classList.add('jsonschema-form-host');
  el.replaceChildren(h('p', { class: 'form-loading', role: 'status' }, '正在加载表单…'));

  let payload;
  try {
    payload = await getJSON(d.schemaUrl);
  } catch (err) {
    el.replaceChildren(h('div', { class: 'alert-error', role: 'alert' }, `表单加载失败：${err.message}`));
    el.dataset.islandState = 'error';
    return;
  }

  const readOnly = d.readonly !== undefined || !d.submitUrl;
  const form = new JsonSchemaForm({
    schema: payload.schema,
    ui: payload.ui,
    data: payload.data,
    uploadUrl: d.uploadUrl,
    readOnly,
    userName: payload.user_name || '',
  });
  el.egovForm = form; // handle for page scripts and browser tests

  if (readOnly) {
    el.replaceChildren(form.element);
    return;
  }

  const submitLabel = '提交';
  const draftLabel = '保存草稿';
  // type="button": Enter in a text box must not complete the task; only the button does.
  const submitBtn = h('button', { type: 'button', class: 'btn btn-primary' }, submitLabel);
  const draftBtn = d.draftUrl ? h('button', { type: 'button', class: 'btn' }, draftLabel) : null;
  const status = h('span', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'form-actions' }, draftBtn, submitBtn, status);
  const formEl = h(
    'form',
    { novalidate: true, class: 'jsonschema-form-el', onsubmit: (e) => e.preventDefault() },
    form.element,
    actions,
  );
  el.replaceChildren(formEl);

  let sending = false;
  const setSending = (on, which) => {
    sending = on;
    submitBtn.disabled = on;
    if (draftBtn) draftBtn.disabled = on;
    submitBtn.textContent = on && which === 'submit' ? '提交中…' : submitLabel;
    if (draftBtn) draftBtn.textContent = on && which === 'draft' ? '保存中…' : draftLabel;
    formEl.setAttribute('aria-busy', on ? 'true' : 'false');
  };

  const waitingForUploads = () => {
    if (!form.pendingUploads) return false;
    form.showMessage('附件正在上传，请等待上传完成后再操作。');
    return true;
  };

  const showFailure = (err) => {
    const body = err.body || {};
    if (body.errors && typeof body.errors === 'object' && !Array.isArray(body.errors)) {
      form.showErrors(body.errors, body.message || err.message);
    } else {
      form.showMessage(body.message || err.message);
    }
  };

  submitBtn.addEventListener('click', async () => {
    if (sending || waitingForUploads()) return;
    const errors = form.validate();
    if (Object.keys(errors).length) {
      form.showErrors(errors, '请修改标出的内容后再提交。');
      return;
    }
    form.clearErrors();
    status.textContent = '';
    setSending(true, 'submit');
    try {
      const { body } = await postJSON(d.submitUrl, { data: form.getData() });
      if (body && body.next_url) {
        status.textContent = '提交成功，正在跳转…';
        window.location.assign(body.next_url);
        return; // stay disabled while the next page loads
      }
      status.textContent = '提交成功';
      setSending(false);
      submitBtn.disabled = true;
    } catch (err) {
      setSending(false);
      showFailure(err);
    }
  });

  if (draftBtn) {
    draftBtn.addEventListener('click', async () => {
      if (sending || waitingForUploads()) return;
      setSending(true, 'draft');
      status.textContent = '';
      try {
        const { body } = await postJSON(d.draftUrl, { data: form.getData() });
        form.clearErrors();
        const when = body && body.saved_at ? formatDateTime(body.saved_at) : formatDateTime(new Date());
        status.textContent = `草稿已保存（${when}）`;
      } catch (err) {
        showFailure(err);
      } finally {
        setSending(false);
      }
    });
  }
}

mountAll('[data-jsonschema-form]', mountForm);
