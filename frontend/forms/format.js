// Number and date formatting for the form renderer (money with thousands separators, local date-times).

const MONEY = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatMoney(value) {
  return typeof value === 'number' && Number.isFinite(value) ? MONEY.format(value) : '';
}

/** Parse what a user typed as a number: "1,234.5" → 1234.5; "" → undefined; junk → NaN. */
export function parseNumber(text) {
  const cleaned = String(text).replace(/[,，\s]/g, '').replace(/^＋/, '').replace(/^－/, '-');
  if (cleaned === '') return undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(cleaned)) return Number.NaN;
  return Number(cleaned);
}

export function roundCents(value) {
  return Math.round(value * 100) / 100;
}

export function formatSize(bytes) {
  if (typeof bytes !== 'number') return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const pad = (n) => String(n).padStart(2, '0');

/** A day in the browser's local time as "YYYY-MM-DD" (JSON Schema `date`, what a date input holds). */
export function localDate(date = new Date()) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** RFC 3339 value → the "YYYY-MM-DDTHH:MM" a datetime-local input shows, in local time. */
export function toLocalInput(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local input's value → RFC 3339 with the browser's UTC offset (JSON Schema date-time). */
export function fromLocalInput(text) {
  if (!text) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return undefined;
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${text.length === 16 ? `${text}:00` : text}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
