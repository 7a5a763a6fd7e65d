// What the modeler and the decision-table editor share about deploying: the question, the list of versions
// it made, and a deploy error's problems.
import { h } from './dom.js';

export const DEPLOY_QUESTION = '部署后，新发起的流程使用新版本；正在办理的实例仍按原版本办理（可在版本页迁移）。确定部署吗？';

/** How a version in a deploy's answer reads: （新版本）, （无变化）, or nothing when not told. */
function versionState(created) {
  if (created === false) return '（无变化）';
  return created ? '（新版本）' : '';
}

/** Turn a deploy error's `errors` (list of problems, or {field: [messages]}) into problems. */
export function errorsToProblems(errors) {
  if (Array.isArray(errors)) return errors.map((e) => (typeof e === 'string' ? { message: e } : e));
  if (errors && typeof errors === 'object') {
    return Object.entries(errors).flatMap(([key, value]) =>
      [].concat(value).map((m) => (typeof m === 'string' ? { message: `${key}：${m}` } : m)),
    );
  }
  return [];
}

/**
 * The deploy's answer as shown: whether anything changed, each process version with a link to migrate its
 * instances, and `afterwards` (what the page is now) when something was deployed. Returns {node, unchanged}.
 */
export function deployedVersions(result, afterwards) {
  const versions = (result && result.versions) || [];
  const unchanged = versions.length > 0 && versions.every((v) => v.created === false);
  const node = h(
    'div',
    { class: 'alert-info' },
    h('strong', {}, unchanged ? '内容与当前版本相同，未生成新版本。' : '部署成功。'),
    h(
      'ul',
      {},
      versions.map((v) =>
        h(
          'li',
          {},
          `流程 ${v.process_id} 第 ${v.version} 版${versionState(v.created)}`,
          v.name ? ` ${v.name} ` : ' ',
          v.url && v.created !== false ? h('a', { href: v.url }, '查看此版本并迁移未结束的实例') : '',
        ),
      ),
    ),
    unchanged ? null : h('p', { class: 'muted' }, afterwards),
  );
  return { node, unchanged };
}
