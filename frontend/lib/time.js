// The one time rule of the islands: every time a user sees or types is 六安 local time (Asia/Shanghai,
// UTC+8 all year), whatever time zone the browser runs in. Values sent to the server carry their offset.

export const BEIJING_OFFSET = '+08:00';
const OFFSET_MS = 8 * 60 * 60 * 1000;

const pad = (n) => String(n).padStart(2, '0');

/**
 * An instant from a Date, a number (ms) or text. Text without an offset ("2026-11-26T12:18",
 * "2026-11-26") is read as Beijing time, not as the browser's time; invalid input gives null.
 */
export function toInstant(value) {
  let date;
  if (value instanceof Date) date = new Date(value.getTime());
  else if (typeof value === 'number') date = new Date(value);
  else if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) date = new Date(`${text}T00:00:00${BEIJING_OFFSET}`);
    else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) {
      date = new Date(`${text.replace(' ', 'T')}${BEIJING_OFFSET}`);
    } else date = new Date(text);
  } else return null;
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The Beijing wall-clock fields of an instant: {year, month (1–12), day, hour, minute, second}. */
export function beijingParts(date) {
  const shifted = new Date(date.getTime() + OFFSET_MS);
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    second: shifted.getUTCSeconds(),
  };
}

/** "YYYY-MM-DD" of an instant in Beijing time (today when omitted). */
export function beijingDate(value = new Date()) {
  const date = toInstant(value);
  if (!date) return '';
  const p = beijingParts(date);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** "YYYY-MM-DDTHH:MM" of an instant in Beijing time (what a datetime-local input holds); '' if invalid. */
export function beijingInput(value) {
  const date = toInstant(value);
  if (!date) return '';
  const p = beijingParts(date);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** "YYYY-MM-DD HH:MM:SS" of an instant in Beijing time; other input is shown as it is. */
export function formatDateTime(value) {
  const date = toInstant(value);
  if (!date) return String(value ?? '');
  const p = beijingParts(date);
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** A datetime-local input's text, read as Beijing time → RFC 3339 with +08:00; undefined if empty or invalid. */
export function fromBeijingInput(text) {
  if (!text || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) return undefined;
  const value = `${text.length === 16 ? `${text}:00` : text}${BEIJING_OFFSET}`;
  return toInstant(value) ? value : undefined;
}

/** The instant Beijing's current day began. */
export function startOfBeijingDay(value = new Date()) {
  return toInstant(beijingDate(value));
}
