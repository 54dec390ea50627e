// @ts-check
// The page talks to the public JSON API only, exactly as a script would.

/** @import { ErrorBody } from './page-types.js' */

const KEY_STORAGE = 'darkroom.apiKey';

let apiKey = '';
try {
  apiKey = localStorage.getItem(KEY_STORAGE) ?? '';
} catch {
  // Storage may be disabled; the key then lasts for this page only.
}

/** The API key the user entered ('' for none); kept in this browser. */
export const getApiKey = () => apiKey;

/** @param {string} key */
export function setApiKey(key) {
  apiKey = key;
  try {
    if (apiKey) localStorage.setItem(KEY_STORAGE, apiKey);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // See above.
  }
}

/** @returns {Record<string, string>} */
export const authHeaders = () => (apiKey ? { authorization: `Bearer ${apiKey}` } : {});

/** An error answer of the API: `{ error: { code, message, details? } }`, or a network failure (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {ErrorBody} body
   */
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.details = Array.isArray(body.details) ? body.details : [];
    if ((status === 401 || status === 403) && !apiKey)
      this.message += ' (this server wants an API key: enter it at the top right)';
  }
}

/**
 * Calls the API and returns its JSON answer; throws an ApiError for an error answer.
 * @param {string} path
 * @param {{ json?: unknown, form?: FormData, method?: string }} [options]
 * @returns {Promise<any>} the answer, whose shape the caller knows from the route
 */
export async function api(path, { json, form, method = json !== undefined || form ? 'POST' : 'GET' } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...authHeaders() };
  /** @type {BodyInit | undefined} */
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) body = form;
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, { code: 'network_error', message: 'cannot reach the server; is it running?' });
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const error =
      data?.error && typeof data.error.message === 'string'
        ? data.error
        : { code: `http_${res.status}`, message: `${res.status} ${res.statusText}` };
    throw new ApiError(res.status, error);
  }
  return data;
}

/**
 * Images and zips are plain links, unless a key is set: links cannot send headers, so fetch a blob.
 * @param {string} url
 */
export async function fetchBlobUrl(url) {
  const res = await fetch(url, { headers: authHeaders() });
  if (!res.ok)
    throw new ApiError(res.status, { code: `http_${res.status}`, message: `download failed (${res.status})` });
  return URL.createObjectURL(await res.blob());
}
