// Decision-table editor island: every decision table of a DMN file as an editable grid, with
// validate, deploy and download like the modeler's.
//
// <div data-dmn-editor
//      data-xml-url="/…/table.dmn"      GET → the DMN XML
//      data-validate-url="/…"           POST {"files": {"<name>.dmn": xml}} → {"ok", "problems": [{file, element_id, message}]}
//      data-deploy-url="/…"             POST same body → 201 {"versions": [{process_id, name, version, created, url}]}
//                                        or 4xx {"code", "message", "errors"}
//      data-file-name="route_by_amount.dmn"></div>
// POSTs carry the X-CSRFToken header from <meta name="csrf-token">.
//
// The file is read with DOMParser but written by splicing the edits into the text it was loaded from:
// XMLSerializer would rewrite untouched parts (Chromium joins the XML declaration onto the root's line,
// reorders namespace declarations and turns every `>` in text into `&gt;`), and a table's diff should show
// only what the admin changed. Each element is located in the text by scanning its tags in document order.
import { getText, postJSON } from './lib/http.js';
import { h, mountAll } from './lib/dom.js';
import { DEPLOY_QUESTION, deployedVersions, errorsToProblems } from './lib/deploy.js';

const ENTRY_HINT = '条件写法如 < 5000000、>= "2023"、"SMALL"、? in ("A", "B")，- 表示任意';
const HIT_POLICIES = {
  UNIQUE: 'UNIQUE（唯一）：各规则的条件互不重叠，取成立的那一条',
  FIRST: 'FIRST（首条）：按顺序取第一条成立的规则',
  PRIORITY: 'PRIORITY（优先）：取输出优先级最高的规则',
  ANY: 'ANY（任一）：成立的规则结果必须相同',
  COLLECT: 'COLLECT（汇总）：所有成立的规则，结果汇成列表',
  'RULE ORDER': 'RULE ORDER（规则顺序）：所有成立的规则，按规则顺序列出结果',
  'OUTPUT ORDER': 'OUTPUT ORDER（输出顺序）：所有成立的规则，按输出优先级列出结果',
};
const TYPE_NAMES = {
  string: '文本',
  number: '数字',
  integer: '整数',
  long: '整数',
  double: '数字',
  boolean: '是/否（True/False）',
  date: '日期',
};

// ----------------------------------------------------------------------------- where each element is in the text

function skipPast(text, marker, from) {
  const at = text.indexOf(marker, from);
  if (at === -1) throw new Error(`缺少 ${marker}`);
  return at + marker.length;
}

/** Skip a <!DOCTYPE …> (its internal subset in brackets) or another <! declaration. */
function skipDeclaration(text, from) {
  let depth = 0;
  for (let i = from + 2; i < text.length; i += 1) {
    if (text[i] === '[') depth += 1;
    else if (text[i] === ']') depth -= 1;
    else if (text[i] === '>' && depth <= 0) return i + 1;
  }
  throw new Error('声明未闭合');
}

/**
 * Every element's tags in document order: {name, start, openEnd, closeStart, end, selfClosing}.
 * `openEnd` is just after the start tag, `closeStart` at the end tag's `<` (both at `end` when self-closing).
 */
function scanElements(text) {
  const found = [];
  const open = [];
  let i = text.indexOf('<');
  while (i !== -1) {
    if (text.startsWith('<!--', i)) i = skipPast(text, '-->', i);
    else if (text.startsWith('<![CDATA[', i)) i = skipPast(text, ']]>', i);
    else if (text.startsWith('<?', i)) i = skipPast(text, '?>', i);
    else if (text.startsWith('<!', i)) i = skipDeclaration(text, i);
    else if (text[i + 1] === '/') {
      const element = open.pop();
      if (!element) throw new Error('多余的结束标签');
      element.closeStart = i;
      element.end = skipPast(text, '>', i);
      i = element.end;
    } else {
      let j = i + 1;
      let quote = '';
      for (; j < text.length; j += 1) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (j >= text.length) throw new Error('标签未闭合');
      const selfClosing = text[j - 1] === '/';
      const element = { name: /^[^\s/>]+/.exec(text.slice(i + 1))[0], start: i, openEnd: j + 1, selfClosing };
      if (selfClosing) {
        element.closeStart = j + 1;
        element.end = j + 1;
      } else open.push(element);
      found.push(element);
      i = j + 1;
    }
    i = text.indexOf('<', i);
  }
  return found;
}

/** Parse the file and locate each element in it: {text, doc, where: Map(element → range)}. */
function readSource(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const error = doc.getElementsByTagName('parsererror')[0];
  if (error) {
    const detail = (error.querySelector('div') || error).textContent.trim();
    throw new Error(`XML 格式错误：${detail}`);
  }
  if (doc.documentElement.localName !== 'definitions') throw new Error('文件不是 DMN 决策文件（根元素应为 definitions）');
  const elements = doc.getElementsByTagName('*');
  const ranges = scanElements(text);
  if (ranges.length !== elements.length) throw new Error('无法定位文件中的元素');
  const where = new Map();
  for (let k = 0; k < elements.length; k += 1) {
    if (elements[k].tagName !== ranges[k].name) throw new Error(`无法定位元素 ${elements[k].tagName}`);
    where.set(elements[k], ranges[k]);
  }
  return { text, doc, where };
}

// ----------------------------------------------------------------------------- the model: what the grid edits

function kids(el, localName) {
  return [...el.children].filter((c) => c.localName === localName && c.namespaceURI === el.namespaceURI);
}

function kid(el, localName) {
  return el ? kids(el, localName)[0] || null : null;
}

/** An editable text held in `textEl`'s content (made inside `host` when missing). */
function textCell(host, textEl, id = '') {
  const value = textEl ? textEl.textContent : '';
  return { kind: 'text', host, textEl, id, orig: value, value };
}

/** An editable attribute of an element. */
function attrCell(el, attr) {
  const value = el.getAttribute(attr) || '';
  return { kind: 'attr', el, attr, orig: value, value };
}

function entryCell(entry) {
  return textCell(entry, kid(entry, 'text'), entry.getAttribute('id') || '');
}

function readRule(el) {
  return {
    el,
    id: el.getAttribute('id') || '',
    description: textCell(el, kid(el, 'description')),
    inputs: kids(el, 'inputEntry').map(entryCell),
    outputs: kids(el, 'outputEntry').map(entryCell),
  };
}

function readTable(decision) {
  const el = kid(decision, 'decisionTable');
  if (!el) return null;
  const inputs = kids(el, 'input').map((input) => {
    const expression = kid(input, 'inputExpression');
    return {
      el: input,
      id: input.getAttribute('id') || '',
      label: attrCell(input, 'label'),
      expr: textCell(expression, kid(expression, 'text'), expression ? expression.getAttribute('id') || '' : ''),
      typeRef: expression ? expression.getAttribute('typeRef') || '' : '',
    };
  });
  const outputs = kids(el, 'output').map((output) => ({
    el: output,
    id: output.getAttribute('id') || '',
    label: attrCell(output, 'label'),
    name: attrCell(output, 'name'),
    typeRef: output.getAttribute('typeRef') || '',
  }));
  const rules = kids(el, 'rule').map(readRule);
  let problem = '';
  if (!outputs.length) problem = '此决策表没有输出列，无法在此编辑。';
  else if (rules.some((r) => r.inputs.length !== inputs.length || r.outputs.length !== outputs.length)) {
    problem = '有规则的条目数与列数不一致，无法在此编辑，请修正原文件。';
  } else if (inputs.some((input) => !input.expr.host)) problem = '有输入列没有取值表达式，无法在此编辑。';
  return {
    el,
    decisionId: decision.getAttribute('id') || '',
    hitPolicy: (el.getAttribute('hitPolicy') || 'UNIQUE').toUpperCase(),
    aggregation: el.getAttribute('aggregation') || '',
    inputs,
    outputs,
    rules,
    original: rules.slice(),
    problem,
  };
}

function readDecisions(src) {
  return kids(src.doc.documentElement, 'decision').map((decision) => ({
    id: decision.getAttribute('id') || '',
    name: decision.getAttribute('name') || '',
    table: readTable(decision),
  }));
}

// ----------------------------------------------------------------------------- writing the edits back into the text

const serializer = new XMLSerializer();

function escapeText(src, value) {
  return serializer.serializeToString(src.doc.createTextNode(value));
}

function escapeAttr(value) {
  const map = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };
  return value.replace(/[&<>"\t\n\r]/g, (c) => map[c]);
}

function prefixOf(qualifiedName) {
  const colon = qualifiedName.indexOf(':');
  return colon === -1 ? '' : qualifiedName.slice(0, colon + 1);
}

/** The start tag of a range, written as an open tag (`<x a="1"/>` → `<x a="1">`). */
function openTag(src, range) {
  const tag = src.text.slice(range.start, range.openEnd);
  return range.selfClosing ? tag.replace(/\s*\/>$/, '>') : tag;
}

/** Where the run of whitespace ending at `pos` starts (not before `floor`). */
function whitespaceStart(text, pos, floor) {
  let k = pos;
  while (k > floor && /\s/.test(text[k - 1])) k -= 1;
  return k;
}

function setAttribute(tag, name, value) {
  const quoted = `"${escapeAttr(value)}"`;
  const pattern = /([^\s=/>]+)(\s*=\s*)("[^"]*"|'[^']*')/g;
  pattern.lastIndex = tag.search(/[\s/>]/);
  for (let m = pattern.exec(tag); m; m = pattern.exec(tag)) {
    if (m[1] === name) return tag.slice(0, m.index) + m[1] + m[2] + quoted + tag.slice(m.index + m[0].length);
  }
  const end = tag.endsWith('/>') ? tag.length - 2 : tag.length - 1;
  const head = tag.slice(0, end);
  const trimmed = head.replace(/\s+$/, '');
  return `${trimmed} ${name}=${quoted}${head.slice(trimmed.length)}${tag.slice(end)}`;
}

/** One splice rewriting an element's start tag with every changed attribute cell of it. */
function tagSplices(src, el, cells) {
  const changed = cells.filter((c) => c.value !== c.orig);
  if (!changed.length) return [];
  const range = src.where.get(el);
  let tag = src.text.slice(range.start, range.openEnd);
  for (const c of changed) tag = setAttribute(tag, c.attr, c.value);
  return [{ start: range.start, end: range.openEnd, text: tag }];
}

/** Splices putting a text cell's new value in place; `localName`/`first` say how to add a missing element. */
function textSplices(src, cell, localName = 'text', first = false) {
  if (cell.value === cell.orig) return [];
  const escaped = escapeText(src, cell.value);
  if (cell.textEl) {
    const range = src.where.get(cell.textEl);
    if (range.selfClosing) return [{ start: range.start, end: range.end, text: `${openTag(src, range)}${escaped}</${range.name}>` }];
    return [{ start: range.openEnd, end: range.closeStart, text: escaped }];
  }
  const host = src.where.get(cell.host);
  const name = `${prefixOf(host.name)}${localName}`;
  const xml = `<${name}>${escaped}</${name}>`;
  if (host.selfClosing) return [{ start: host.start, end: host.end, text: `${openTag(src, host)}${xml}</${host.name}>` }];
  const firstChild = cell.host.firstElementChild;
  if (first && firstChild) {
    const at = src.where.get(firstChild).start;
    const indent = src.text.slice(whitespaceStart(src.text, at, host.openEnd), at);
    return [{ start: at, end: at, text: xml + indent }];
  }
  return [{ start: host.closeStart, end: host.closeStart, text: xml }];
}

function applySplices(text, splices, from = 0, to = text.length) {
  const sorted = [...splices].sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let at = from;
  for (const s of sorted) {
    out += text.slice(at, s.start) + s.text;
    at = s.end;
  }
  return out + text.slice(at, to);
}

function ruleSplices(src, rule) {
  return [
    ...textSplices(src, rule.description, 'description', true),
    ...rule.inputs.flatMap((c) => textSplices(src, c)),
    ...rule.outputs.flatMap((c) => textSplices(src, c)),
  ];
}

/** The layout new rules copy: the text before a rule, the prefix, one indentation step. */
function ruleLayout(src, table) {
  const tableRange = src.where.get(table.el);
  const anchor = table.original.length ? table.original[0].el : table.el.lastElementChild;
  const at = src.where.get(anchor).start;
  const before = src.text.slice(whitespaceStart(src.text, at, tableRange.openEnd), at);
  const newline = before.includes('\r\n') ? '\r\n' : before.includes('\n') ? '\n' : '';
  const indent = newline ? before.slice(before.lastIndexOf('\n') + 1) : '';
  let step = newline ? '  ' : '';
  const child = table.original.length ? table.original[0].el.firstElementChild : null;
  if (newline && child) {
    const childAt = src.where.get(child).start;
    const childBefore = src.text.slice(whitespaceStart(src.text, childAt, 0), childAt);
    const childIndent = childBefore.slice(childBefore.lastIndexOf('\n') + 1);
    if (childIndent.startsWith(indent) && childIndent.length > indent.length) step = childIndent.slice(indent.length);
  }
  return { before, newline, indent, step, prefix: prefixOf(tableRange.name) };
}

function newRuleXml(src, rule, layout) {
  const { newline, indent, step, prefix: p } = layout;
  const at1 = newline ? newline + indent + step : '';
  const at2 = newline ? at1 + step : '';
  const entry = (tag, cell) =>
    `${at1}<${p}${tag} id="${escapeAttr(cell.id)}">${at2}<${p}text>${escapeText(src, cell.value)}</${p}text>${at1}</${p}${tag}>`;
  const description = rule.description.value
    ? `${at1}<${p}description>${escapeText(src, rule.description.value)}</${p}description>`
    : '';
  return [
    `<${p}rule id="${escapeAttr(rule.id)}">`,
    description,
    ...rule.inputs.map((c) => entry('inputEntry', c)),
    ...rule.outputs.map((c) => entry('outputEntry', c)),
    `${newline ? newline + indent : ''}</${p}rule>`,
  ].join('');
}

/** Splices for a table's rules: in place while the rule list is the original one, else the rules rewritten. */
function rulesSplices(src, table) {
  const same = table.rules.length === table.original.length && table.rules.every((r, k) => r === table.original[k]);
  if (same) return table.rules.flatMap((r) => ruleSplices(src, r));
  const layout = ruleLayout(src, table);
  const tableRange = src.where.get(table.el);
  let start;
  let end;
  const leading = new Map();
  if (table.original.length) {
    // Each original rule keeps what stood before it (its indentation, a comment above it).
    let previous = whitespaceStart(src.text, src.where.get(table.original[0].el).start, tableRange.openEnd);
    start = previous;
    for (const rule of table.original) {
      const range = src.where.get(rule.el);
      leading.set(rule, src.text.slice(previous, range.start));
      previous = range.end;
    }
    end = previous;
  } else {
    start = src.where.get(table.el.lastElementChild).end;
    end = start;
  }
  const text = table.rules
    .map((rule) => {
      if (!rule.el) return layout.before + newRuleXml(src, rule, layout);
      const range = src.where.get(rule.el);
      return leading.get(rule) + applySplices(src.text, ruleSplices(src, rule), range.start, range.end);
    })
    .join('');
  return [{ start, end, text }];
}

/** The DMN file with every edit of the grid in it; untouched text stays byte for byte. */
function writeXml(src, decisions) {
  const splices = [];
  for (const { table } of decisions) {
    if (!table || table.problem) continue;
    for (const input of table.inputs) {
      splices.push(...tagSplices(src, input.el, [input.label]), ...textSplices(src, input.expr));
    }
    for (const output of table.outputs) splices.push(...tagSplices(src, output.el, [output.label, output.name]));
    splices.push(...rulesSplices(src, table));
  }
  return applySplices(src.text, splices);
}

/** Every id of the file, so new rules get fresh ones. */
function fileIds(src) {
  return new Set([...src.doc.querySelectorAll('[id]')].map((el) => el.getAttribute('id')));
}

function freshId(taken, base) {
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}_${n}`;
  taken.add(id);
  return id;
}

function newRule(table, taken) {
  let n = table.rules.length + 1;
  while (taken.has(`${table.decisionId}_rule_${n}`)) n += 1;
  const id = freshId(taken, `${table.decisionId}_rule_${n}`);
  const cell = (entryId, value) => ({ kind: 'text', host: null, textEl: null, id: entryId, orig: '', value });
  return {
    el: null,
    id,
    description: cell('', ''),
    inputs: table.inputs.map((_, k) => cell(freshId(taken, `${id}_in_${k + 1}`), '-')),
    outputs: table.outputs.map((_, k) => cell(freshId(taken, `${id}_out_${k + 1}`), '')),
  };
}

// ----------------------------------------------------------------------------- entry syntax
// The engine (SpiffWorkflow) evaluates an entry as a Python expression: `< 5` becomes `column < 5`,
// a plain value `column == value`, and `?` stands for the column. It accepts anything Python parses,
// so `>> 5` would run as a bit shift; these checks refuse what is not a comparison, a value or `-`.

const FULL_WIDTH = {
  '＜': '<', '＞': '>', '＝': '=', '！': '!', '（': '(', '）': ')', '，': ',', '“': '"', '”': '"',
  '‘': "'", '’': "'", '？': '?', '－': '-', '．': '.', '：': ':', '；': ';', '【': '[', '】': ']',
};
const MISTAKES = {
  '>>': '无法识别的符号「>>」，比较请用 <、<=、>、>=',
  '<<': '无法识别的符号「<<」，比较请用 <、<=、>、>=',
  '=>': '「=>」应写作「>=」',
  '=<': '「=<」应写作「<=」',
  '<>': '不等于请写「!=」',
  '&&': '“并且”请写 and',
  '||': '“或者”请写 or',
  '=': '等于请直接写值（如 "SMALL"），或写「==」',
};
const OPERATORS = ['**', '//', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '(', ')', '[', ']', ',', '.', '?'];
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is']);
const COMPARISONS = new Set(['<', '<=', '>', '>=', '==', '!=']);

function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new SyntaxError('引号不成对');
      tokens.push({ t: 'str', v: text.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    if (FULL_WIDTH[c]) throw new SyntaxError(`请使用英文半角符号：「${c}」应为「${FULL_WIDTH[c]}」`);
    const rest = text.slice(i);
    const number = /^(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(rest);
    const word = /^[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*/.exec(rest);
    const mistake = Object.keys(MISTAKES).find((m) => rest.startsWith(m) && !OPERATORS.includes(rest.slice(0, 2)));
    const operator = OPERATORS.find((o) => rest.startsWith(o));
    if (number) tokens.push({ t: 'num', v: number[0] });
    else if (word) tokens.push({ t: KEYWORDS.has(word[0]) ? 'op' : 'name', v: word[0] });
    else if (mistake) throw new SyntaxError(MISTAKES[mistake]);
    else if (operator) tokens.push({ t: 'op', v: operator });
    else throw new SyntaxError(`无法识别的符号「${c}」`);
    i += tokens[tokens.length - 1].v.length;
  }
  return tokens;
}

/** A recursive-descent reader of the Python expressions entries use; throws SyntaxError with a Chinese message. */
function expressionReader(tokens, allowInput) {
  let pos = 0;
  const at = (v, offset = 0) => {
    const t = tokens[pos + offset];
    return Boolean(t) && t.t === 'op' && t.v === v;
  };
  const fail = () => {
    const t = tokens[pos];
    throw new SyntaxError(t ? `「${t.v}」处无法识别` : '表达式不完整，缺少数值');
  };
  const expect = (v) => {
    if (!at(v)) fail();
    pos += 1;
  };
  const list = (close) => {
    if (at(close)) {
      pos += 1;
      return;
    }
    orTest();
    while (at(',')) {
      pos += 1;
      if (at(close)) break;
      orTest();
    }
    expect(close);
  };
  const atom = () => {
    const t = tokens[pos];
    if (!t) fail();
    if (t.t === 'num' || t.t === 'name') pos += 1;
    else if (t.t === 'str') while (tokens[pos] && tokens[pos].t === 'str') pos += 1;
    else if (at('?') && allowInput) pos += 1;
    else if (at('(')) {
      pos += 1;
      list(')');
    } else if (at('[')) {
      pos += 1;
      list(']');
    } else fail();
  };
  const primary = () => {
    atom();
    for (;;) {
      if (at('.') && tokens[pos + 1] && tokens[pos + 1].t === 'name') pos += 2;
      else if (at('(')) {
        pos += 1;
        list(')');
      } else if (at('[')) {
        pos += 1;
        orTest();
        expect(']');
      } else return;
    }
  };
  const factor = () => {
    if (at('+') || at('-')) {
      pos += 1;
      factor();
      return;
    }
    primary();
    if (at('**')) {
      pos += 1;
      factor();
    }
  };
  const term = () => {
    factor();
    while (['*', '/', '//', '%'].some((o) => at(o))) {
      pos += 1;
      factor();
    }
  };
  const arith = () => {
    term();
    while (at('+') || at('-')) {
      pos += 1;
      term();
    }
  };
  const comparisonOperator = () => {
    const t = tokens[pos];
    if (t && t.t === 'op' && (COMPARISONS.has(t.v) || t.v === 'in')) pos += 1;
    else if (at('not') && at('in', 1)) pos += 2;
    else if (at('is')) pos += at('not', 1) ? 2 : 1;
    else return false;
    return true;
  };
  const comparison = () => {
    arith();
    while (comparisonOperator()) arith();
  };
  const notTest = () => {
    if (at('not')) {
      pos += 1;
      notTest();
    } else comparison();
  };
  const andTest = () => {
    notTest();
    while (at('and')) {
      pos += 1;
      notTest();
    }
  };
  function orTest() {
    andTest();
    while (at('or')) {
      pos += 1;
      andTest();
    }
  }
  const end = (commaMessage) => {
    if (at(',')) throw new SyntaxError(commaMessage);
    if (pos < tokens.length) fail();
  };
  return {
    expression(commaMessage) {
      orTest();
      end(commaMessage);
    },
    /** `< 5`, `>= "2023"`, `in ("A", "B")`: an operator and one operand, as the engine prefixes the column. */
    comparedValue(commaMessage) {
      comparisonOperator();
      if (pos < tokens.length && tokens[pos].t === 'op' && (COMPARISONS.has(tokens[pos].v) || at('in'))) fail();
      arith();
      end(commaMessage);
    },
    startsWithOperator() {
      const t = tokens[0];
      return t.t === 'op' && (COMPARISONS.has(t.v) || t.v === 'in' || t.v === 'is' || (t.v === 'not' && at('in', 1)));
    },
  };
}

function withoutStrings(text) {
  return text.replace(/"(\\.|[^"\\])*"|'(\\.|[^'\\])*'/g, '""');
}

function unitsMistake(text) {
  return /\d\s*[万亿元]/.test(withoutStrings(text)) ? '金额请以元为单位直接写数字，如 5000000' : '';
}

/** Why an input entry cannot be used, or '' when it can. */
function inputEntryProblem(text) {
  const value = text.trim();
  if (value === '' || value === '-') return '';
  try {
    if (withoutStrings(value).includes('..')) throw new SyntaxError('不支持区间写法 [a..b]，请写成 a <= ? <= b');
    const units = unitsMistake(value);
    if (units) throw new SyntaxError(units);
    const tokens = tokenize(value);
    const reader = expressionReader(tokens, true);
    const comma = '逗号无法识别：数字不要写千分位，多个取值请写成 ? in ("A", "B")';
    if (tokens.some((t) => t.t === 'op' && t.v === '?')) reader.expression(comma);
    else if (reader.startsWithOperator()) reader.comparedValue(comma);
    else reader.expression(comma);
    return '';
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return `条件「${value}」无法识别：${err.message}。${ENTRY_HINT}`;
  }
}

/** Why an output entry or an input column's expression (both required) cannot be used, or '' when it can. */
function valueProblem(text, what) {
  const value = text.trim();
  if (!value) return `${what}不能为空`;
  try {
    const units = unitsMistake(value);
    if (units) throw new SyntaxError(units);
    expressionReader(tokenize(value), false).expression('只能写一个值（数字不要写千分位逗号）');
    return '';
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return `${what}「${value}」无法识别：${err.message}。文字请加英文双引号，如 "SMALL"；数字直接写，如 5000000`;
  }
}

/** The problems the grid can see itself, as {file, element_id, message} like the server's. */
function checkDecisions(decisions, fileName) {
  const problems = [];
  const add = (elementId, message) => {
    if (message) problems.push({ file: fileName, element_id: elementId, message });
  };
  for (const { table } of decisions) {
    if (!table || table.problem) continue;
    table.inputs.forEach((input) => add(input.expr.id || input.id, valueProblem(input.expr.value, '取值表达式')));
    table.outputs.forEach((output) => {
      // The processes read a result by this name (SpiffWorkflow falls back to the label when there is none).
      const name = output.name.value.trim();
      if (!name && output.name.orig) add(output.id, '变量名不能为空：流程按变量名读取结果');
      else if (name && !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
        add(output.id, `变量名「${name}」无效：应由英文字母、数字和下划线组成，且不以数字开头`);
      }
    });
    for (const rule of table.rules) {
      rule.inputs.forEach((cell) => add(cell.id, inputEntryProblem(cell.value)));
      // An empty result is "" to the engine: a route or an amount nobody meant.
      rule.outputs.forEach((cell) => add(cell.id, valueProblem(cell.value, '结果')));
    }
  }
  return problems;
}

// ----------------------------------------------------------------------------- the page



function columnName(column, k, kind) {
  return column.label.value.trim() || (kind === 'in' ? column.expr.value.trim() : column.name.value.trim()) || `第 ${k + 1} 列`;
}

async function mountEditor(el) {
  const d = el.dataset;
  const fileName = (d.fileName || '').trim() || 'decision.dmn';
  el.classList.add('dmn-editor');
  el.replaceChildren(h('p', { class: 'muted' }, '正在加载…'));

  let src;
  let decisions;
  try {
    src = readSource(await getText(d.xmlUrl));
    decisions = readDecisions(src);
  } catch (err) {
    el.replaceChildren(h('div', { class: 'alert-error' }, `决策表加载失败：${err.message}`));
    el.dataset.islandState = 'error';
    return;
  }
  const taken = fileIds(src);
  const xml = () => writeXml(src, decisions);
  let saved = src.text;
  el.egovDmnEditor = { xml }; // handle for browser tests

  const status = h('span', { class: 'dmn-status', role: 'status', 'aria-live': 'polite' });
  const validateBtn = h('button', { type: 'button', class: 'btn' }, '校验');
  const deployBtn = h('button', { type: 'button', class: 'btn btn-primary' }, '部署新版本');
  const downloadBtn = h('button', { type: 'button', class: 'btn' }, '下载');
  const results = h('div', { class: 'dmn-results', 'aria-live': 'polite' });
  const sections = h('div', { class: 'dmn-decisions' });
  el.replaceChildren(
    h(
      'div',
      { class: 'dmn-toolbar', role: 'toolbar', 'aria-label': '决策表工具栏' },
      h('span', { class: 'dmn-file-name', title: '文件名' }, fileName),
      h('span', { class: 'dmn-toolbar-gap' }),
      validateBtn,
      deployBtn,
      downloadBtn,
      status,
    ),
    results,
    sections,
  );

  const setStatus = (text, kind = '') => {
    status.textContent = text;
    status.className = `dmn-status ${kind}`;
  };
  const dirty = () => xml() !== saved;
  const edited = () => (dirty() ? setStatus('有未部署的修改', 'is-warn') : setStatus(''));
  window.addEventListener('beforeunload', (event) => {
    if (dirty()) event.preventDefault(); // the browser shows its own "leave page?" prompt
  });

  // element id → {control, where}: the field a problem points at, rebuilt with every render.
  let fields = new Map();
  const invalid = new Map();

  const markField = (id) => {
    const field = fields.get(id);
    if (!field) return;
    // A rule's id points at its first cell too: the cell is invalid when any id leading to it is.
    const messages = [...fields]
      .filter(([, other]) => other.control === field.control)
      .map(([key]) => invalid.get(key))
      .filter(Boolean);
    field.control.setAttribute('aria-invalid', messages.length ? 'true' : 'false');
    field.control.title = messages.join('；');
  };

  const control = (cell, label, { multiline = false, disabled = false, then = null } = {}) => {
    const attrs = {
      class: multiline ? 'dmn-cell dmn-desc' : 'dmn-cell',
      'aria-label': label,
      spellcheck: 'false',
      disabled,
      value: cell.value,
      oninput: (event) => {
        cell.value = event.target.value;
        for (const [key, field] of fields) {
          if (field.control === event.target && invalid.delete(key)) markField(key);
        }
        if (then) then();
        edited();
      },
    };
    return multiline ? h('textarea', { rows: 2, ...attrs }) : h('input', { type: 'text', ...attrs });
  };

  /** Remember which field an element id leads to; `where` names it in a problem line. */
  const register = (id, input, where) => {
    if (!id) return;
    fields.set(id, { control: input, where });
    markField(id);
  };

  const renderDecision = (decision, section) => {
    const { table } = decision;
    const heading = h('h2', { class: 'card-title' }, decision.name || decision.id, ' ', h('span', { class: 'muted' }, `（${decision.id}）`));
    if (!table) {
      section.replaceChildren(heading, h('p', { class: 'muted' }, '此决策不是决策表，不能在此编辑。'));
      return;
    }
    const locked = Boolean(table.problem);
    const policy = HIT_POLICIES[table.hitPolicy] || table.hitPolicy;
    const rerender = () => renderDecision(decision, section);
    // Cell names carry the column's name: renaming a column relabels them in place (a re-render would
    // take the focus away from the field Tab just moved to).
    const labelled = [];
    const relabel = () => {
      for (const [input, label] of labelled) input.setAttribute('aria-label', label());
    };
    const field = (cell, label, options = {}) => {
      const input = control(cell, label(), { disabled: locked, ...options });
      labelled.push([input, label]);
      return input;
    };
    const inName = (k) => columnName(table.inputs[k], k, 'in');
    const outName = (k) => columnName(table.outputs[k], k, 'out');
    const header = [];
    table.inputs.forEach((input, k) => {
      const labelInput = control(input.label, `条件列 ${k + 1} 列名`, { disabled: locked, then: relabel });
      const exprInput = field(input.expr, () => `条件列 ${k + 1}「${inName(k)}」取值表达式`, { then: relabel });
      register(input.id, labelInput, () => `条件列「${inName(k)}」`);
      register(input.expr.id, exprInput, () => `条件列「${inName(k)}」取值表达式`);
      header.push(
        h(
          'th',
          { scope: 'col', class: 'dmn-in' },
          h('span', { class: 'dmn-head-field' }, '列名', labelInput),
          h('span', { class: 'dmn-head-field' }, '取值表达式', exprInput),
          input.typeRef ? h('span', { class: 'dmn-type' }, `类型：${TYPE_NAMES[input.typeRef] || input.typeRef}`) : null,
        ),
      );
    });
    table.outputs.forEach((output, k) => {
      const labelInput = control(output.label, `结果列 ${k + 1} 列名`, { disabled: locked, then: relabel });
      const nameInput = field(output.name, () => `结果列 ${k + 1}「${outName(k)}」变量名`, { then: relabel });
      register(output.id, nameInput, () => `结果列「${outName(k)}」`);
      header.push(
        h(
          'th',
          { scope: 'col', class: 'dmn-out' },
          h('span', { class: 'dmn-head-field' }, '列名', labelInput),
          h('span', { class: 'dmn-head-field' }, '变量名', nameInput),
          output.typeRef ? h('span', { class: 'dmn-type' }, `类型：${TYPE_NAMES[output.typeRef] || output.typeRef}`) : null,
        ),
      );
    });

    const move = (index, by, focusClass) => {
      const [rule] = table.rules.splice(index, 1);
      table.rules.splice(index + by, 0, rule);
      rerender();
      edited();
      // Focus stays on the moved row: the same button, else (now first or last) the other way, else 删除.
      const row = section.querySelector(`tr[data-rule="${CSS.escape(rule.id)}"]`);
      const order = [focusClass, focusClass === 'dmn-up' ? 'dmn-down' : 'dmn-up', 'dmn-delete'];
      order.map((name) => row.querySelector(`.${name}`)).find((button) => !button.disabled)?.focus();
    };
    const remove = (index) => {
      table.rules.splice(index, 1);
      rerender();
      edited();
      const rows = section.querySelectorAll('tbody tr[data-rule] .dmn-delete');
      (rows[Math.min(index, rows.length - 1)] || section.querySelector('.dmn-add')).focus();
    };

    const rows = table.rules.map((rule, index) => {
      const n = index + 1;
      const cells = [h('th', { scope: 'row', class: 'dmn-index' }, String(n))];
      table.inputs.forEach((_, k) => {
        const where = () => `规则 ${n} · 条件「${inName(k)}」`;
        const input = field(rule.inputs[k], where);
        register(rule.inputs[k].id, input, where);
        if (k === 0) register(rule.id, input, () => `规则 ${n}`);
        cells.push(h('td', { class: 'dmn-in' }, input));
      });
      table.outputs.forEach((_, k) => {
        const where = () => `规则 ${n} · 结果「${outName(k)}」`;
        const input = field(rule.outputs[k], where);
        register(rule.outputs[k].id, input, where);
        if (!table.inputs.length && k === 0) register(rule.id, input, () => `规则 ${n}`);
        cells.push(h('td', { class: 'dmn-out' }, input));
      });
      cells.push(h('td', {}, control(rule.description, `规则 ${n} · 规则说明`, { multiline: true, disabled: locked })));
      const last = index === table.rules.length - 1;
      cells.push(
        h(
          'td',
          { class: 'dmn-actions' },
          h('button', { type: 'button', class: 'btn btn-small dmn-up', 'aria-label': `上移规则 ${n}`, disabled: locked || index === 0, onclick: () => move(index, -1, 'dmn-up') }, '上移'),
          h('button', { type: 'button', class: 'btn btn-small dmn-down', 'aria-label': `下移规则 ${n}`, disabled: locked || last, onclick: () => move(index, 1, 'dmn-down') }, '下移'),
          h('button', { type: 'button', class: 'btn btn-small btn-danger dmn-delete', 'aria-label': `删除规则 ${n}`, disabled: locked, onclick: () => remove(index) }, '删除'),
        ),
      );
      return h('tr', { dataset: { rule: rule.id } }, cells);
    });
    if (!rows.length) {
      const span = table.inputs.length + table.outputs.length + 3;
      rows.push(h('tr', { class: 'dmn-empty' }, h('td', { colspan: span }, '还没有规则。')));
    }

    const add = h(
      'button',
      {
        type: 'button',
        class: 'btn dmn-add',
        disabled: locked,
        onclick: () => {
          const rule = newRule(table, taken);
          table.rules.push(rule);
          rerender();
          edited();
          section.querySelector(`tr[data-rule="${CSS.escape(rule.id)}"] .dmn-cell`)?.focus();
        },
      },
      '添加规则',
    );
    const parts = [
      heading,
      h('p', { class: 'dmn-policy' }, `命中策略：${policy}${table.aggregation ? `（聚合：${table.aggregation}）` : ''}`),
      locked ? h('div', { class: 'alert-error' }, table.problem) : null,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table dmn-table', 'aria-label': `决策表：${decision.name || decision.id}` },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col', rowspan: 2 }, '序号'),
              table.inputs.length ? h('th', { scope: 'colgroup', colspan: table.inputs.length, class: 'dmn-in' }, '条件（输入）') : null,
              h('th', { scope: 'colgroup', colspan: table.outputs.length, class: 'dmn-out' }, '结果（输出）'),
              h('th', { scope: 'col', rowspan: 2 }, '规则说明'),
              h('th', { scope: 'col', rowspan: 2 }, '操作'),
            ),
            h('tr', {}, header),
          ),
          h('tbody', {}, rows),
        ),
      ),
      h('div', { class: 'dmn-table-actions' }, add),
    ];
    section.replaceChildren(...parts.filter(Boolean)); // replaceChildren would print a null
  };

  const render = () => {
    fields = new Map();
    sections.replaceChildren(
      ...decisions.map((decision) => {
        const section = h('section', { class: 'card dmn-decision', dataset: { decision: decision.id } });
        renderDecision(decision, section);
        return section;
      }),
    );
    if (!decisions.length) sections.append(h('p', { class: 'muted' }, '文件中没有决策。'));
  };
  render();

  const showProblems = (title, problems) => {
    invalid.clear();
    const items = problems.map((p) => {
      const own = !p.file || p.file === fileName;
      const field = own && p.element_id ? fields.get(p.element_id) : null;
      if (field) invalid.set(p.element_id, p.message || '');
      const where = field ? `${field.where()}（${p.element_id}）：` : p.element_id ? `${p.element_id}：` : '';
      const text = `${own ? '' : `［${p.file}］`}${where}${p.message || ''}`;
      const focus = () => {
        field.control.scrollIntoView({ block: 'center' });
        field.control.focus();
      };
      return h('li', {}, field ? h('button', { type: 'button', class: 'btn-link', onclick: focus }, text) : text);
    });
    for (const id of fields.keys()) markField(id);
    results.replaceChildren(
      h('div', { class: 'alert-error' }, h('strong', {}, title), items.length ? h('ul', { class: 'dmn-problems' }, items) : null),
    );
  };

  const clearProblems = () => {
    invalid.clear();
    for (const id of fields.keys()) markField(id);
  };

  /** The grid's own problems first; the server's for the same element add nothing new. */
  const merge = (local, remote) => {
    const seen = new Set(local.map((p) => `${p.file}|${p.element_id}`));
    return [...local, ...remote.filter((p) => !seen.has(`${p.file}|${p.element_id}`))];
  };

  const body = () => ({ files: { [fileName]: xml() } });
  const busy = (on) => {
    validateBtn.disabled = on;
    deployBtn.disabled = on;
  };

  validateBtn.addEventListener('click', async () => {
    busy(true);
    setStatus('校验中…');
    const local = checkDecisions(decisions, fileName);
    try {
      const { body: result } = await postJSON(d.validateUrl, body());
      const problems = merge(local, (result && result.problems) || []);
      if (result && result.ok && !problems.length) {
        clearProblems();
        results.replaceChildren(h('div', { class: 'alert-info' }, '校验通过，未发现问题。'));
        setStatus('校验通过', 'is-ok');
      } else {
        showProblems(`校验发现 ${problems.length} 个问题：`, problems);
        setStatus(`发现 ${problems.length} 个问题`, 'is-error');
      }
    } catch (err) {
      showProblems(`校验失败：${err.message}`, merge(local, errorsToProblems(err.body && (err.body.problems || err.body.errors))));
      setStatus('校验失败', 'is-error');
    } finally {
      busy(false);
    }
  });

  deployBtn.addEventListener('click', async () => {
    const local = checkDecisions(decisions, fileName);
    if (local.length) {
      showProblems(`发现 ${local.length} 个问题，未部署：`, local);
      setStatus('未部署', 'is-error');
      return;
    }
    if (!window.confirm(DEPLOY_QUESTION)) return;
    busy(true);
    deployBtn.textContent = '部署中…';
    setStatus('部署中…');
    try {
      const text = xml();
      const { body: result } = await postJSON(d.deployUrl, { files: { [fileName]: text } });
      clearProblems();
      saved = text;
      const { node, unchanged } = deployedVersions(result, '本页内容即刚部署的决策表，可继续修改后再次部署。');
      results.replaceChildren(node);
      setStatus(unchanged ? '无变化' : '部署成功', 'is-ok');
    } catch (err) {
      showProblems(`部署失败：${err.message}`, errorsToProblems(err.body && err.body.errors));
      setStatus('部署失败，原版本仍在使用', 'is-error');
    } finally {
      deployBtn.textContent = '部署新版本';
      busy(false);
    }
  });

  downloadBtn.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([xml()], { type: 'application/xml;charset=utf-8' }));
    const link = h('a', { href: url, download: fileName, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
}

mountAll('[data-dmn-editor]', mountEditor);
