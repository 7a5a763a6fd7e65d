// Client-side checks before submit: required, length, pattern, format, min/max, item counts.
// The server validates every submission with the full schema; these only save a round trip.
// Conditional rules (`if`/`then`/`else`, also inside `allOf`) are evaluated against the values entered,
// so "required only when …" is checked here exactly as the server checks it.
import { choicesOf, isAttachment, isConsent, isMoney, pathKey, resolve, schemaType } from './schema.js';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function isEmpty(value) {
  return value === undefined || value === null || value === '';
}

/**
 * Return {"a.0.b": ["中文消息"]} for `data` against `schema`. readOnly parts are skipped:
 * the user cannot fix them, and the server decides about them anyway.
 */
export function validate(schema, data, rootSchema) {
  const errors = {};
  const add = (path, message) => {
    const key = pathKey(path);
    const messages = (errors[key] = errors[key] || []);
    if (!messages.includes(message)) messages.push(message);
  };
  walk(schema, data, [], rootSchema, add);
  return errors;
}

function walk(rawSchema, value, path, rootSchema, add) {
  const plain = resolve(rawSchema, rootSchema);
  if (plain.readOnly) return;
  const type = schemaType(plain);
  const objectLike = type === 'object' && !isAttachment(plain);
  const obj = objectLike && value && typeof value === 'object' ? value : {};
  // The conditions that hold for what has been entered add their requirements and constraints.
  const schema = resolve(rawSchema, rootSchema, 0, objectLike ? obj : value);

  if (objectLike) {
    for (const name of schema.required || []) {
      const sub = resolve((schema.properties || {})[name] || {}, rootSchema);
      if (sub.readOnly) continue;
      if (isConsent(sub)) {
        if (obj[name] !== true) add([...path, name], '请阅读并勾选此项');
      } else if (isAttachment(sub)) {
        if (!obj[name] || typeof obj[name] !== 'object') add([...path, name], '请上传附件');
      } else if (isEmpty(obj[name]) && schemaType(sub) !== 'object') {
        add([...path, name], '此项为必填项');
      }
    }
    for (const [name, sub] of Object.entries(schema.properties || {})) {
      const child = obj[name];
      const subSchema = resolve(sub, rootSchema);
      // Descend into missing objects too, so their required fields are reported one by one.
      if (child !== undefined || (schemaType(subSchema) === 'object' && (schema.required || []).includes(name))) {
        walk(subSchema, child, [...path, name], rootSchema, add);
      }
    }
    return;
  }

  if (type === 'object' && isAttachment(schema)) {
    checkKind(schema, value, path, rootSchema, add); // the rest of the metadata comes from the server
    return;
  }

  if (type === 'array') {
    const list = Array.isArray(value) ? value : [];
    if (schema.minItems !== undefined && list.length < schema.minItems) {
      add(path, schema.minItems === 1 ? '请至少填写一项' : `至少需要 ${schema.minItems} 项`);
    }
    if (schema.maxItems !== undefined && list.length > schema.maxItems) add(path, `最多 ${schema.maxItems} 项`);
    if (schema.uniqueItems && new Set(list.map((item) => JSON.stringify(item))).size < list.length) {
      add(path, '不能有重复项');
    }
    if (schema.items && !choicesOf(resolve(schema.items, rootSchema))) {
      list.forEach((item, i) => walk(schema.items, item, [...path, i], rootSchema, add));
    }
    return;
  }

  if (isEmpty(value)) return;

  if (isConsent(schema)) {
    if (value !== true) add(path, '请阅读并勾选此项');
    return;
  }

  if (type === 'string') {
    const text = String(value);
    const length = [...text].length;
    if (schema.minLength !== undefined && length < schema.minLength) add(path, `不能少于 ${schema.minLength} 个字`);
    if (schema.maxLength !== undefined && length > schema.maxLength) add(path, `不能超过 ${schema.maxLength} 个字`);
    if (schema.pattern) {
      let re = null;
      try {
        re = new RegExp(schema.pattern, 'u');
      } catch {
        re = null; // a pattern JS cannot compile is left to the server
      }
      if (re && !re.test(text)) add(path, schema['x-errorMessage'] || schema.errorMessage || '格式不正确');
    }
    if (schema.format === 'email' && !EMAIL.test(text)) add(path, '邮箱格式不正确');
    if (schema.format === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(text)) add(path, '请输入正确的日期');
    return;
  }

  if (type === 'number' || type === 'integer') {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      add(path, '请输入数字');
      return;
    }
    if (type === 'integer' && !Number.isInteger(value)) add(path, '请输入整数');
    // Beyond 2^53 a browser number is no longer exact (to the cent, for money): it would be sent rounded.
    const exactUnits = isMoney(schema) ? Math.round(Math.abs(value) * 100) : Math.abs(value);
    if (!Number.isSafeInteger(Math.round(exactUnits))) {
      add(path, isMoney(schema) ? '金额过大，无法精确到分' : '数值过大，无法精确表示');
      return;
    }
    // One message per bound: with both minimum and exclusiveMinimum, the stricter one speaks.
    const low = bound(schema.minimum, schema.exclusiveMinimum, (a, b) => a >= b);
    if (low && (low.exclusive ? value <= low.limit : value < low.limit)) {
      add(path, `${low.exclusive ? '必须大于' : '不能小于'} ${low.limit}`);
    }
    const high = bound(schema.maximum, schema.exclusiveMaximum, (a, b) => a <= b);
    if (high && (high.exclusive ? value >= high.limit : value > high.limit)) {
      add(path, `${high.exclusive ? '必须小于' : '不能大于'} ${high.limit}`);
    }
    if (schema.not && 'const' in schema.not && value === schema.not.const) add(path, `不能为 ${schema.not.const}`);
    if (schema.multipleOf && !isMultiple(value, schema.multipleOf)) {
      add(path, schema.multipleOf === 0.01 ? '金额最多保留两位小数' : `必须是 ${schema.multipleOf} 的整数倍`);
    }
  }
}

/** Whether `value` is a whole multiple of `step`, as the server checks it in decimals (0.1 + 0.2 is 0.3). */
function isMultiple(value, step) {
  const places = Math.max(decimals(value), decimals(step));
  const scale = 10 ** places;
  return Math.round(value * scale) % Math.round(step * scale) === 0;
}

function decimals(number) {
  const text = String(number);
  if (text.includes('e-')) return Number(text.split('e-')[1]);
  return text.includes('.') ? text.split('.')[1].length : 0;
}

/** The stricter of an inclusive and an exclusive limit ({limit, exclusive}), or null when neither is set. */
function bound(inclusive, exclusive, stricterOrSame) {
  if (exclusive !== undefined && (inclusive === undefined || stricterOrSame(exclusive, inclusive))) {
    return { limit: exclusive, exclusive: true };
  }
  return inclusive === undefined ? null : { limit: inclusive, exclusive: false };
}

/** An uploaded file's 材料类型: chosen when its schema requires it, and one of the listed kinds. */
function checkKind(schema, value, path, rootSchema, add) {
  const declared = (schema.properties || {}).kind;
  if (!declared || !value || typeof value !== 'object') return;
  const kindSchema = resolve(declared, rootSchema);
  const choices = choicesOf(kindSchema);
  const title = kindSchema.title || '材料类型';
  const kind = value.kind;
  if (isEmpty(kind)) {
    if ((schema.required || []).includes('kind')) add([...path, 'kind'], `请${choices ? '选择' : '填写'}${title}`);
  } else if (choices && !choices.some((c) => c.value === kind)) {
    add([...path, 'kind'], `请选择有效的${title}`);
  } else if (kindSchema.const !== undefined && kind !== kindSchema.const) {
    add([...path, 'kind'], `${title}不正确`);
  }
}
