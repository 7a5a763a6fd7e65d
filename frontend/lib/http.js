// Small fetch helpers shared by the islands: CSRF header on every POST, JSON in and out,
// and one error type whose `message` is already Chinese and safe to show to the user.

export class HttpError extends Error {
  constructor(message, { status = 0, body = null } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.body = body; // parsed JSON error body ({code, message, errors}) when the server sent one
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') || '' : '';
}

function describeStatus(status) {
  if (status === 401) return '登录已过期，请重新登录';
  if (status === 403) return '没有权限执行此操作';
  if (status === 404) return '请求的资源不存在';
  if (status === 409) return '数据已被他人修改，请刷新后重试';
  if (status === 413) return '文件过大';
  if (status >= 500) return '服务器出错，请稍后重试';
  return `请求失败（HTTP ${status}）`;
}

async function readBody(response) {
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }
  return null;
}

async function send(url, options) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin', ...options });
  } catch {
    throw new HttpError('网络连接失败，请检查网络后重试');
  }
  return response;
}

/** GET a URL and return its body as text; throws HttpError on a non-2xx status. */
export async function getText(url) {
  const response = await send(url, { headers: { Accept: 'application/xml, text/xml, text/plain, */*' } });
  if (!response.ok) {
    throw new HttpError(describeStatus(response.status), { status: response.status });
  }
  return response.text();
}

/** GET a URL and return parsed JSON; throws HttpError on a non-2xx status or bad JSON. */
export async function getJSON(url) {
  const response = await send(url, { headers: { Accept: 'application/json' } });
  const body = await readBody(response);
  if (!response.ok) {
    throw new HttpError((body && body.message) || describeStatus(response.status), {
      status: response.status,
      body,
    });
  }
  if (body === null) throw new HttpError('服务器返回的数据格式不正确', { status: response.status });
  return body;
}

/**
 * POST JSON with the CSRF header. Resolves to {status, body} for 2xx; throws HttpError
 * (with the parsed error body attached) for anything else, so callers handle one path.
 */
export async function postJSON(url, payload) {
  const response = await send(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'X-CSRFToken': csrfToken(),
    },
    body: JSON.stringify(payload),
  });
  const body = await readBody(response);
  if (!response.ok) {
    throw new HttpError((body && body.message) || describeStatus(response.status), {
      status: response.status,
      body,
    });
  }
  return { status: response.status, body };
}

/**
 * Upload one file as multipart field `file` with XMLHttpRequest, because fetch has no
 * upload progress events. `onProgress(fraction)` gets 0..1; `fields` are sent beside the file
 * (such as {kind: "CONTRACT"}; empty values are left out).
 */
export function uploadFile(url, file, onProgress, fields = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('X-CSRFToken', csrfToken());
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        resolve(body);
      } else {
        // A refused file is explained by its field errors (不支持的文件类型…), not the general 422 message.
        const fieldMessages = body && body.errors && typeof body.errors === 'object' ? Object.values(body.errors).flat() : [];
        const message = fieldMessages.filter((m) => typeof m === 'string').join('；') || (body && body.message);
        reject(new HttpError(message || describeStatus(xhr.status), { status: xhr.status, body }));
      }
    });
    xhr.addEventListener('error', () => reject(new HttpError('网络连接失败，上传未完成')));
    xhr.addEventListener('abort', () => reject(new HttpError('上传已取消')));
    const form = new FormData();
    for (const [name, value] of Object.entries(fields || {})) {
      if (value !== undefined && value !== null && value !== '') form.append(name, String(value));
    }
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
