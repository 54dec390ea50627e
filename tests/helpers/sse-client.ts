/** A small server-sent events reader over fetch, for tests (Node 20 has no EventSource). */
export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Comment lines (keep-alives) received so far. */
  comments(): number;
  /** The next event; undefined once the stream has ended. Rejects after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<SseEvent | undefined>;
  /** Every event until the stream ends. */
  rest(timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

/** Opens `url` as an event stream and reads it in the background. */
export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const queued: SseEvent[] = [];
  let comments = 0;
  let ended = false;
  let wake: () => void = () => undefined;
  let current: { event?: string; id?: string; data: string[] } = { data: [] };

  const onLine = (line: string) => {
    if (line === '') {
      if (current.data.length || current.event) {
        const text = current.data.join('\n');
        let data: unknown = text;
        try {
          data = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        queued.push({ event: current.event ?? 'message', id: current.id, data });
      }
      current = { data: [] };
    } else if (line.startsWith(':')) {
      comments += 1;
    } else {
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') current.event = value;
      else if (name === 'id') current.id = value;
      else if (name === 'data') current.data.push(value);
    }
  };

  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body ?? []) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          onLine(buffer.slice(0, newline).replace(/\r$/, ''));
          buffer = buffer.slice(newline + 1);
        }
        wake();
      }
    } catch {
      // closed by us, or the connection dropped: the stream has ended either way
    }
    ended = true;
    wake();
  })();

  const stream: SseStream = {
    status: res.status,
    headers: res.headers,
    comments: () => comments,
    async next(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!queued.length && !ended) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${timeoutMs} ms from ${url}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => (clearTimeout(timer), resolve());
        });
      }
      return queued.shift();
    },
    async rest(timeoutMs = 60_000) {
      const events: SseEvent[] = [];
      const deadline = Date.now() + timeoutMs;
      for (let e = await stream.next(timeoutMs); e; e = await stream.next(Math.max(1, deadline - Date.now())))
        events.push(e);
      return events;
    },
    close() {
      abort.abort();
    },
  };
  return stream;
}
