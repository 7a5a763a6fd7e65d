// JSON Schema helpers for the form renderer: $ref/allOf resolution, types, choices, paths, defaults.
import { startOfBeijingDay } from '../lib/time.js';
import { fromLocalInput, localDate, toLocalInput } from './format.js';

/**
 * Resolve a local `$ref` ("#/$defs/x") and merge `allOf` members into one plain schema.
 * With `value` (the data the schema describes), `if`/`then`/`else` — on the schema itself or on an
 * `allOf` member — are evaluated against it and the branch that applies is merged in, so "required
 * only when …" rules follow what the user has entered. Without it, conditional parts are left out.
 */
export function resolve(schema, rootSchema, depth = 0, value = undefined) {
  if (!schema || typeof schema !== 'object' || depth > 20) return schema || {};
  let out = schema;
  if (typeof out.$ref === 'string' && out.$ref.startsWith('#')) {
    const { $ref, ...rest } = out;
    const target = pointer(rootSchema, $ref.slice(1));
    out = { ...resolve(target, rootSchema, depth + 1, value), ...rest };
  }
  if (Array.isArray(out.allOf)) {
    const { allOf, ...rest } = out;
    let merged = rest;
    for (const part of allOf) {
      const sub = resolve(part, rootSchema, depth + 1, value);
      merged = {
        ...strip(sub),
        ...merged,
        properties: mergeProperties(sub.properties, merged.properties, false),
        required: [...new Set([...(sub.required || []), ...(merged.required || [])])],
      };
      if (sub[APPLIED]) merged = mergeConstraints(merged, sub[APPLIED]);
    }
    out = merged;
  }
  if ('if' in out || 'then' in out || 'else' in out) {
    const { if: test, then: yes, else: no, ...rest } = out;
    out = rest;
    if (value !== undefined && test !== undefined) {
      const branch = matches(test, value, rootSchema) ? yes : no;
      if (branch && typeof branch === 'object') {
        const applied = resolve(branch, rootSchema, depth + 1, value);
        out = mergeConstraints(out, applied);
        // Kept so that an `allOf` holding this schema merges the branch as constraints too.
        Object.defineProperty(out, APPLIED, { value: applied, enumerable: false });
      }
    }
  }
  return out;
}

const APPLIED = Symbol('applied conditional branch');

function strip(schema) {
  const { properties, required, ...rest } = schema;
  return rest;
}

/** Member schemas of two `properties` maps: `extra` wins (as constraints when `asConstraints`). */
function mergeProperties(extra, base, asConstraints) {
  const out = { ...(extra || {}), ...(base || {}) };
  if (asConstraints) {
    for (const [name, sub] of Object.entries(extra || {})) {
      out[name] = base && base[name] ? mergeConstraints(base[name], sub) : sub;
    }
  }
  return out;
}

const LOWER = ['minLength', 'minItems', 'minimum', 'exclusiveMinimum', 'minProperties'];
const UPPER = ['maxLength', 'maxItems', 'maximum', 'exclusiveMaximum', 'maxProperties'];

/**
 * `base` with the constraints of `extra` added, as when both must hold: required lists are joined,
 * member schemas merged, and of two bounds the stricter one is kept.
 */
export function mergeConstraints(base, extra) {
  if (!extra || typeof extra !== 'object') return base;
  const out = { ...base };
  for (const [key, v] of Object.entries(extra)) {
    if (key === 'required') out.required = [...new Set([...(base.required || []), ...v])];
    else if (key === 'properties') out.properties = mergeProperties(v, base.properties, true);
    else if (LOWER.includes(key) && typeof base[key] === 'number') out[key] = Math.max(base[key], v);
    else if (UPPER.includes(key) && typeof base[key] === 'number') out[key] = Math.min(base[key], v);
    else out[key] = v;
  }
  return out;
}

function isBlank(value) {
  return value === undefined || value === null || value === '';
}

function typeMatches(type, value) {
  const types = Array.isArray(type) ? type : [type];
  return types.some((t) => {
    if (t === 'null') return value === null;
    if (t === 'array') return Array.isArray(value);
    if (t === 'object') return value !== null && typeof value === 'object' && !Array.isArray(value);
    if (t === 'integer') return Number.isInteger(value);
    if (t === 'number') return typeof value === 'number' && !Number.isNaN(value);
    return typeof value === t;
  });
}

/**
 * Whether `value` satisfies `schema` — the part of JSON Schema an `if` in our forms is written with:
 * const, enum, type, required, properties, items-free bounds, pattern, allOf / anyOf / oneOf / not.
 * A value the form holds as empty (undefined, "") counts as absent, as it is left out when sent.
 */
export function matches(rawSchema, value, rootSchema, depth = 0) {
  if (rawSchema === true || rawSchema === undefined) return true;
  if (rawSchema === false) return false;
  if (depth > 20) return true;
  const schema = resolve(rawSchema, rootSchema, depth + 1, value);
  const test = (sub, v) => matches(sub, v, rootSchema, depth + 1);
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) return false;
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return false;
  }
  if (schema.type !== undefined && !typeMatches(schema.type, value)) return false;
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) return false;
    if (schema.maxLength !== undefined && length > schema.maxLength) return false;
    if (schema.pattern) {
      try {
        if (!new RegExp(schema.pattern, 'u').test(value)) return false;
      } catch {
        // a pattern JS cannot compile does not decide anything here
      }
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return false;
    if (schema.maximum !== undefined && value > schema.maximum) return false;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return false;
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return false;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return false;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return false;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const name of schema.required || []) if (isBlank(value[name])) return false;
    for (const [name, sub] of Object.entries(schema.properties || {})) {
      if (!isBlank(value[name]) && !test(sub, value[name])) return false;
    }
  }
  if (Array.isArray(schema.anyOf) && !choicesOf(schema) && !schema.anyOf.some((s) => test(s, value))) return false;
  if (Array.isArray(schema.oneOf) && !choicesOf(schema) && schema.oneOf.filter((s) => test(s, value)).length !== 1) {
    return false;
  }
  if (schema.not !== undefined && test(schema.not, value)) return false;
  return true;
}

/** The names an object schema requires for `value`: its own list plus those of the conditions that hold. */
export function requiredFor(schema, value, rootSchema) {
  const obj = value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  return resolve(schema, rootSchema, 0, obj).required || [];
}

function pointer(doc, path) {
  if (!path) return doc;
  return path
    .split('/')
    .slice(1)
    .map((part) => decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node, key) => (node && typeof node === 'object' ? node[key] : undefined), doc);
}

/** The single JSON type a schema is rendered as ("null" is dropped from type unions). */
export function schemaType(schema) {
  let { type } = schema;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null') || type[0];
  if (type) return type;
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  const choices = choicesOf(schema);
  if (choices) return typeof choices[0].value === 'number' ? 'number' : 'string';
  return 'string';
}

/** [{value, label}] for enum (+ enumNames) or oneOf/anyOf of {const, title}; null otherwise. */
export function choicesOf(schema) {
  if (Array.isArray(schema.enum)) {
    const names = Array.isArray(schema.enumNames) ? schema.enumNames : [];
    return schema.enum.map((value, i) => ({ value, label: names[i] ?? String(value) }));
  }
  const list = schema.oneOf || schema.anyOf;
  if (Array.isArray(list) && list.length && list.every((s) => s && 'const' in s)) {
    return list.map((s) => ({ value: s.const, label: s.title ?? String(s.const) }));
  }
  return null;
}

export function isAttachment(schema) {
  return schema && schema.format === 'attachment';
}

/** A `const: true` boolean: a declaration the user must tick (回避声明, 承诺). */
export function isConsent(schema) {
  return !!schema && schema.const === true && schemaType(schema) === 'boolean';
}

/**
 * How the files of an attachment field are typed: null when their schema has no `kind`, else
 * {schema, choices, fixed, required, title}. `fixed` is the kind the field itself declares
 * (ui "ui:kind", "x-kind" on the field or its items, or the kind's const / default).
 */
export function attachmentKind(fieldSchema, itemSchema, ui, rootSchema) {
  const declared = (itemSchema.properties || {}).kind;
  const uiKind = ui ? (ui['ui:kind'] ?? (ui['ui:options'] || {}).kind) : undefined;
  const named = uiKind ?? fieldSchema['x-kind'] ?? itemSchema['x-kind'];
  if (!declared && named === undefined) return null;
  const schema = resolve(declared || {}, rootSchema);
  const choices = choicesOf(schema);
  let fixed = named ?? schema.const ?? schema.default;
  if (fixed !== undefined && choices && !choices.some((c) => c.value === fixed)) fixed = undefined;
  return {
    schema,
    choices,
    fixed,
    required: (itemSchema.required || []).includes('kind'),
    title: schema.title || '材料类型',
  };
}

export function isMoney(schema) {
  return schema.format === 'money' || schema['x-unit'] === '元' || schema['x-unit'] === '万元';
}

export function unitOf(schema) {
  return schema['x-unit'] || (schema.format === 'money' ? '元' : null);
}

// --- paths: arrays of keys; "a.0.b" is how they are written in error maps ----------------------

export function pathKey(path) {
  return path.join('.');
}

/** Normalise a server error path ("items[0].amount", "/items/0/amount", "items.0.amount"). */
export function normalisePath(text) {
  return String(text)
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/^[/.]+/, '')
    .replace(/\//g, '.');
}

export function getIn(data, path) {
  let node = data;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[key];
  }
  return node;
}

export function setIn(data, path, value) {
  let node = data;
  for (let i = 0; i < path.length - 1; i += 1) {
    const key = path[i];
    if (node[key] === null || typeof node[key] !== 'object') {
      node[key] = typeof path[i + 1] === 'number' ? [] : {};
    }
    node = node[key];
  }
  const last = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(node)) node[last] = undefined;
    else delete node[last];
  } else {
    node[last] = value;
  }
}

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/**
 * The value of an `"x-default"` that depends on when and by whom the form is opened ("today", "now", "me":
 * the user's name), else undefined.
 */
export function liveDefault(schema, userName = '') {
  const wanted = schema['x-default'];
  if (wanted === 'me') return userName || undefined;
  if (wanted === 'today') return schema.format === 'date-time' ? fromLocalInput(toLocalInput(startOfToday())) : localDate();
  if (wanted === 'now') return schema.format === 'date' ? localDate() : fromLocalInput(toLocalInput(new Date()));
  return undefined;
}

function startOfToday() {
  return startOfBeijingDay();
}

/**
 * Fill `default`s into `data` where values are missing (objects recursively; arrays item by item);
 * a number field's value written as text ("3200000.00") becomes a number. With `live`, also fill
 * `"x-default": "today" | "now" | "me"` (`userName`) into empty fields (not in read-only views).
 */
export function applyDefaults(schema, data, rootSchema, { live = false, userName = '' } = {}) {
  const s = resolve(schema, rootSchema);
  const type = schemaType(s);
  if (data === undefined && s.default !== undefined) data = clone(s.default);
  if (live && (data === undefined || data === null || data === '')) data = liveDefault(s, userName) ?? data;
  // Amounts the process holds as text ("3200000.00", as the handlers return money) fill a number field.
  if ((type === 'number' || type === 'integer') && typeof data === 'string' && /^-?\d+(\.\d+)?$/.test(data.trim())) {
    data = Number(data.trim());
  }
  if (type === 'object' && !isAttachment(s) && s.properties) {
    const obj = data && typeof data === 'object' && !Array.isArray(data) ? data : {};
    for (const [key, sub] of Object.entries(s.properties)) {
      const value = applyDefaults(sub, obj[key], rootSchema, { live, userName });
      if (value !== undefined) obj[key] = value;
    }
    return Object.keys(obj).length || data !== undefined ? obj : undefined;
  }
  if (type === 'array' && Array.isArray(data) && s.items) {
    const itemSchema = resolve(s.items, rootSchema);
    if (schemaType(itemSchema) === 'object' && !isAttachment(itemSchema)) {
      return data.map((item) => applyDefaults(itemSchema, item, rootSchema, { live, userName }) ?? {});
    }
  }
  return data;
}

/** Remove undefined holes and empty strings so the payload only carries real answers. */
export function prune(value) {
  if (Array.isArray(value)) return value.map((v) => (v === undefined || Number.isNaN(v) ? null : prune(v)));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v))) continue;
      out[k] = prune(v);
    }
    return out;
  }
  return value;
}
