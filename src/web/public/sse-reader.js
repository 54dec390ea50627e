// @ts-check
// A server-sent event stream read with fetch(), for the one case EventSource cannot handle: it
// sends no request headers, and with API keys configured the events route needs `Authorization`.

/** The stream was refused: an error answer, or `204` (nothing more to send: the job is over). */
export class StreamRefused extends Error {
  /** @param {number} status */
  constructor(status) {
    super(`the event stream answered ${status}`);
    this.status = status;
  }
}

/**
 * Reads `url` as text/event-stream until it ends, `signal` aborts, or `onEvent` returns true.
 * Parses the format of the HTML standard: `event`, `data` (lines joined), `id`; comment lines
 * (keep-alives) and `retry` are skipped. Lines end in LF or CRLF (a lone CR, which no server of
 * ours sends, is not treated as a line end). Rejects with StreamRefused for a non-stream answer,
 * and with the network's error when the connection breaks.
 * @param {string} url
 * @param {{ headers: Record<string, string>, lastEventId: string, signal: AbortSignal, onOpen: () => void,
 *   onEvent: (name: string, data: string, id: string) => boolean }} options
 */
export async function readEventStream(url, { headers, lastEventId, signal, onOpen, onEvent }) {
  /** @type {Record<string, string>} */
  const resume = lastEventId ? { 'last-event-id': lastEventId } : {};
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers, ...resume },
    cache: 'no-store',
    signal,
  });
  if (res.status !== 200 || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    throw new StreamRefused(res.status);
  }
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let id = lastEventId;
  let name = '';
  /** @type {string[]} */
  let data = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') {
        // A blank line ends an event; one without data is no event.
        const stop = data.length > 0 && onEvent(name || 'message', data.join('\n'), id);
        name = '';
        data = [];
        if (stop) {
          await reader.cancel();
          return;
        }
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') name = text;
      else if (field === 'data') data.push(text);
      else if (field === 'id' && !text.includes('\0')) id = text;
    }
  }
}
