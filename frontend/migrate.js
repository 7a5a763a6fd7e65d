// Instance migration island: preview (dry run) and run a move onto another process version.
//
// <form data-migration data-migration-url="/api/v1/instances/7/migrate" data-migration-kind="one">
//   <select name="version">…</select>  (kind "many": to_version and from_version selects)
//   <button data-action="preview">预览</button> <button data-action="run">迁移</button>
//   <div data-migration-report></div>
// </form>
// Preview posts {…fields, dry_run: true} and shows the report; run asks for confirmation, posts
// the same without dry_run, shows the result, and (kind "one") reloads the page once it moved.
import { postJSON } from './lib/http.js';
import { h, mountAll } from './lib/dom.js';

function fields(form) {
  const body = {};
  for (const el of form.querySelectorAll('select[name], input[name]')) {
    // Versions are numbers; an element id (at_task) is a BPMN NCName, which never starts with a digit.
    if (el.value !== '') body[el.name] = /^\d+$/.test(el.value) ? Number(el.value) : el.value;
  }
  return body;
}

function list(label, items) {
  if (!items || !items.length) return null;
  return h('div', { class: 'migration-line' }, h('strong', null, `${label}：`), items.join('、'));
}

function verdict(item, dryRun) {
  if (item.problems.length) return h('span', { class: 'badge badge-error' }, '不能迁移');
  if (item.migrated) return h('span', { class: 'badge badge-done' }, '已迁移');
  return h('span', { class: 'badge badge-ready' }, dryRun ? '可迁移' : '未迁移');
}

function details(item) {
  const parts = [
    list('原因', item.problems),
    list('新增环节', item.added),
    list('删除环节（尚未到达）', item.removed),
    list('定义有变化的当前环节', item.changed),
    item.refreshed
      ? h('div', { class: 'migration-line' }, `${item.refreshed} 项待办${item.migrated ? '已' : '将'}按新版本重新分派（认领失效）`)
      : null,
  ].filter(Boolean);
  return parts.length ? parts : [h('span', { class: 'muted' }, '流程结构无影响当前进度的变化')];
}

function renderOne(out, item, dryRun) {
  out.replaceChildren(
    h(
      'div',
      { class: 'migration-report', role: 'status' },
      h('p', null, verdict(item, dryRun), ` 第 ${item.from_version} 版 → 第 ${item.to_version} 版`),
      details(item),
    ),
  );
}

function renderMany(out, result) {
  const summary = result.dry_run
    ? `可迁移 ${result.migrated} 个，不能迁移 ${result.refused} 个`
    : `已迁移 ${result.migrated} 个，不能迁移 ${result.refused} 个`;
  const more = result.remaining ? `；另有 ${result.remaining} 个实例，请再次执行` : '';
  if (!result.items.length) {
    out.replaceChildren(h('div', { class: 'empty-state', role: 'status' }, h('p', null, '没有需要迁移的运行中实例')));
    return;
  }
  const rows = result.items.map((item) =>
    h(
      'tr',
      null,
      h('td', { 'data-label': '实例' }, h('a', { href: `/instances/${item.instance_id}` }, `#${item.instance_id}`), ' ', item.title || ''),
      h('td', { 'data-label': '版本' }, `第 ${item.from_version} 版 → 第 ${item.to_version} 版`),
      h('td', { 'data-label': '结果' }, verdict(item, result.dry_run)),
      h('td', { 'data-label': '说明' }, details(item)),
    ),
  );
  out.replaceChildren(
    h('p', { role: 'status', class: 'migration-summary' }, `${result.dry_run ? '预览' : '完成'}：${summary}${more}`),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table table-cards migration-table' },
        h('thead', null, h('tr', null, h('th', null, '实例'), h('th', null, '版本'), h('th', null, '结果'), h('th', null, '说明'))),
        h('tbody', null, rows),
      ),
    ),
  );
}

function init(form) {
  const out = form.querySelector('[data-migration-report]');
  const buttons = [...form.querySelectorAll('button[data-action]')];
  const many = form.dataset.migrationKind === 'many';

  async function submit(dryRun) {
    if (!dryRun && !window.confirm(form.dataset.confirm || '确定迁移？')) return;
    buttons.forEach((b) => (b.disabled = true));
    out.replaceChildren(h('p', { class: 'muted', role: 'status' }, dryRun ? '正在分析…' : '正在迁移，请稍候…'));
    try {
      const { body } = await postJSON(form.dataset.migrationUrl, { ...fields(form), dry_run: dryRun });
      if (many) renderMany(out, body);
      else renderOne(out, body, dryRun);
      if (!many && body.migrated) window.setTimeout(() => window.location.reload(), 800);
    } catch (err) {
      const problems = (err.body && err.body.detail && err.body.detail.problems) || [];
      out.replaceChildren(
        h('div', { class: 'api-error alert-error', role: 'alert' }, err.message, problems.length > 1 ? h('ul', null, problems.map((p) => h('li', null, p))) : null),
      );
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  form.addEventListener('submit', (event) => event.preventDefault());
  for (const button of buttons) {
    button.addEventListener('click', (event) => {
      event.preventDefault();
      submit(button.dataset.action === 'preview');
    });
  }
}

mountAll('form[data-migration]', init);
