// Development server for the islands (not part of the build): serves service/static/dist and the
// pages in this folder, and fakes the JSON endpoints the islands talk to.
//   npm run build && node frontend/dev/server.mjs [port]   → http://127.0.0.1:5173/
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', '..', 'service', 'static', 'dist');
const port = Number(process.argv[2] || 5173);
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.bpmn': 'application/xml; charset=utf-8', '.woff2': 'font/woff2', '.woff': 'font/woff',
  '.ttf': 'font/ttf', '.eot': 'application/vnd.ms-fontobject', '.svg': 'image/svg+xml',
};
const CSRF = 'dev-csrf-token';

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type });
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

const routes = {
  'GET /mock/diagram.bpmn': async (req, res) => send(res, 200, await readFile(join(here, 'sample.bpmn')), TYPES['.bpmn']),
  'GET /mock/missing.bpmn': (req, res) => send(res, 404, { message: 'not found' }),
  'GET /mock/state.json': (req, res) =>
    send(res, 200, {
      completed: ['Start_1', 'Task_declare', 'Task_check', 'Gateway_1'],
      active: [{ id: 'Task_review', label: '张三 (已认领)' }],
      failed: [],
      taken_flows: ['Flow_1', 'Flow_2', 'Flow_3', 'Flow_4'],
    }),
  'GET /mock/forms': (req, res) =>
    send(res, 200, [{ name: 'declare.schema.json', title: '项目申报表' }, { name: 'review.schema.json', title: '初审意见' }]),
  'GET /mock/handlers': (req, res) =>
    send(res, 200, [
      { operator: 'check_completeness', title: '完整性检查', params: ['project_id'] },
      { operator: 'draw_experts', title: '专家抽取', params: ['project_id', 'count', 'exclude_units'] },
    ]),
  'GET /mock/roles': (req, res) =>
    send(res, 200, [
      { code: 'UNIT_CLERK', name: '项目建设单位经办人' },
      { code: 'DSJ_CLERK', name: '市数管局项目科' },
      { code: 'CZJ', name: '市财政局' },
    ]),
  'POST /mock/validate': async (req, res) => {
    const body = JSON.parse(await readBody(req));
    const [name, xml] = Object.entries(body.files)[0];
    const problems = [];
    if (!/serviceTaskOperator id="draw_experts"/.test(xml)) {
      problems.push({ file: name, element_id: 'Task_check', message: '未知的服务操作 check_completeness' });
    }
    problems.push({ file: name, element_id: 'Task_review', message: '用户任务未指定表单' });
    await delay(300);
    send(res, 200, { ok: problems.length === 0, problems });
  },
  'POST /mock/deploy': async (req, res) => {
    const body = JSON.parse(await readBody(req));
    await delay(600);
    const xml = Object.values(body.files)[0];
    if (xml.includes('Task_review') && !xml.includes('review.schema.json')) {
      return send(res, 422, {
        code: 'invalid_bundle', message: '流程校验未通过',
        errors: [{ file: 'x.bpmn', element_id: 'Task_review', message: '用户任务未指定表单' }],
      });
    }
    return send(res, 201, { versions: [{ process_id: 'declare_dev', version: 3, created: true }, { process_id: 'lifecycle_dev', version: 2, created: false }] });
  },
  'GET /mock/form.json': async (req, res) => send(res, 200, await readFile(join(here, 'declare.form.json'))),
  'POST /mock/submit': async (req, res) => {
    const { data } = JSON.parse(await readBody(req));
    globalThis.lastSubmit = data;
    await delay(300);
    if (data.project && data.project.name && data.project.name.includes('重复')) {
      return send(res, 422, {
        code: 'validation_failed', message: '提交的数据未通过校验',
        errors: { 'project.name': ['已存在同名项目'], 'items.0.amount': ['金额与概算不符'], '': ['整体校验失败示例'] },
      });
    }
    if (data.project && data.project.name && data.project.name.includes('冲突')) {
      return send(res, 409, { code: 'conflict', message: '该任务已由李四于 10:32 完成，请返回待办列表' });
    }
    return send(res, 200, { next_url: '/done.html' });
  },
  'GET /mock/last-submit': (req, res) => send(res, 200, globalThis.lastSubmit || null),
  'POST /mock/draft': async (req, res) => {
    await readBody(req);
    send(res, 200, { saved_at: new Date().toISOString() });
  },
  'POST /mock/upload': async (req, res) => {
    const raw = await readBody(req);
    const name = /filename="([^"]*)"/.exec(raw.toString('latin1'));
    const filename = name ? Buffer.from(name[1], 'latin1').toString('utf8') : 'file';
    const kind = /name="kind"\r\n\r\n([^\r]*)/.exec(raw.toString('latin1'));
    send(res, 200, {
      id: String(Math.floor(Math.random() * 1e6)), filename, size: raw.length, sha256: 'ab'.repeat(32),
      ...(kind ? { kind: kind[1] } : {}),
    });
  },
  'GET /mock/chart/bar': (req, res) =>
    send(res, 200, {
      title: '各阶段在办项目数', type: 'bar',
      categories: ['申报', '初审', '专家论证', '部门联审', '立项批复', '建设', '验收', '运维'],
      series: [{ name: '在办', data: [12, 8, 5, 4, 3, 21, 6, 30] }, { name: '超期', data: [2, 1, 0, 1, 0, 3, 1, 0] }],
      links: ['/tasks?stage=declare', '/tasks?stage=review', null, null, null, null, null, null],
    }),
  'GET /mock/chart/pie': (req, res) =>
    send(res, 200, {
      title: '项目投资规模', type: 'pie', categories: ['< 500万', '500万-1000万', '≥ 1000万'],
      series: [{ name: '项目数', data: [34, 12, 5] }], links: ['/projects?size=s', '/projects?size=m', '/projects?size=l'],
    }),
  'GET /mock/chart/line': (req, res) =>
    send(res, 200, {
      title: '月度办结量', type: 'line', categories: ['1月', '2月', '3月', '4月', '5月', '6月'],
      series: [{ name: '办结', data: [5, 9, 7, 12, 15, 11] }], links: null,
    }),
  'GET /mock/chart/empty': (req, res) =>
    send(res, 200, { title: '本月超期', type: 'bar', categories: [], series: [], links: null }),
};

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    const route = routes[`${req.method} ${url.pathname}`];
    if (route) {
      if (req.method === 'POST' && req.headers['x-csrftoken'] !== CSRF) {
        return send(res, 400, { code: 'csrf', message: 'CSRF 校验失败' });
      }
      return await route(req, res);
    }
    let file;
    if (url.pathname.startsWith('/static/dist/')) file = join(dist, normalize(url.pathname.slice('/static/dist/'.length)));
    else file = join(here, normalize(url.pathname === '/' ? 'index.html' : url.pathname.slice(1)));
    if (!file.startsWith(dist) && !file.startsWith(here)) return send(res, 403, 'forbidden', 'text/plain');
    const body = await readFile(file);
    const type = TYPES[extname(file)] || 'application/octet-stream';
    return send(res, 200, extname(file) === '.html' ? body.toString('utf8').replaceAll('{{csrf}}', CSRF) : body, type);
  } catch (err) {
    return send(res, 404, `not found: ${url.pathname}`, 'text/plain; charset=utf-8');
  }
}).listen(port, '127.0.0.1', () => console.log(`dev server on http://127.0.0.1:${port}/`));
