// Number and date formatting for the form renderer (money with thousands separators, 六安 local date-times).
import { beijingDate, beijingInput, fromBeijingInput } from '../lib/time.js';

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

/** Today (or a given instant) as "YYYY-MM-DD" in 六安 local time (JSON Schema `date`, what a date input holds). */
export function localDate(date = new Date()) {
  return beijingDate(date);
}

/** RFC 3339 value → the "YYYY-MM-DDTHH:MM" a datetime-local input shows, in 六安 local time. */
export function toLocalInput(value) {
  return value ? beijingInput(value) : '';
}

/** A datetime-local input's value (六安 local time) → RFC 3339 with +08:00 (JSON Schema date-time). */
export function fromLocalInput(text) {
  return fromBeijingInput(text);
}
