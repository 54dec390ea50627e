import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RedisClient } from '../../redis/redis-target';
import { WebSocketServer, WebSocket } from 'ws';
import { z } from 'zod';
import { AppError, errorBody } from '../../errors';
import { createRedis } from '../../redis/redis-connection';
import type { LiveAppDeps } from '../app-deps';
import { identifyRequest } from '../api-key-auth';
import { followPrompt, type Send } from './comfy-prompt-follower';
import { queueRemaining } from './comfy-routes';
import { announceChannel, type ComfyStore } from './comfy-store';

/**
 * ComfyUI's websocket, `/ws?clientId=`: the key is checked as for HTTP (the Authorization header,
 * or `?token=` for clients that cannot set headers), then the socket hears about every prompt its
 * key sends with that client_id. Prompts may be sent to any API process: each announces them on a
 * Redis channel, and the process holding the socket follows the job through the event hub.
 */

export const COMFY_WS_PATH = '/ws';
const announcementSchema = z.object({ owner: z.string(), client_id: z.string(), prompt_id: z.string() });

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

function refuse(socket: Duplex, status: 401 | 404 | 429, err: AppError | string) {
  const body = JSON.stringify(typeof err === 'string' ? errorBody('not_found', err) : errorBody(err.code, err.message));
  const reason = { 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests' }[status];
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function comfyWebSocket(deps: LiveAppDeps, comfy: ComfyStore) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Map<string, Set<(promptId: string) => void>>();
  const clientKey = (owner: string, clientId: string) => `${owner}\n${clientId}`;
  /** Open sockets per key, held to MAX_OPEN_STREAMS_PER_KEY like event streams. */
  const open = new Map<string, number>();
  let subscriber: RedisClient | undefined;
  let subscribed: Promise<unknown> = Promise.resolve();

  /** Subscribed before the first socket opens, so no prompt sent after it is missed. */
  const listen = () => {
    if (subscriber) return subscribed;
    subscriber = createRedis(deps.config.redis.target, 'subscriber');
    subscriber.on('error', (err: Error) => deps.logger.debug({ err: err.message }, 'comfy websocket subscriber'));
    subscribed = subscriber.subscribe(announceChannel(deps.config.redis.prefix)).catch(() => undefined);
    subscriber.on('message', (_channel: string, text: string) => {
      const a = announcementSchema.safeParse(parseJson(text));
      if (a.success)
        for (const follow of sockets.get(clientKey(a.data.owner, a.data.client_id)) ?? []) follow(a.data.prompt_id);
    });
    return subscribed;
  };

  const connected = (ws: WebSocket, owner: string, clientId: string) => {
    const closed = new AbortController();
    const send: Send = (type, data) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type, data }));
    const status = async () =>
      send('status', {
        status: { exec_info: { queue_remaining: await queueRemaining(deps, comfy, owner) } },
        sid: clientId,
      });
    const follow = (promptId: string) =>
      void followPrompt(deps, comfy, promptId, send, closed.signal)
        .then(status)
        .catch((err: Error) => deps.logger.warn({ err: err.message, promptId }, 'comfy websocket follow failed'));
    const key = clientKey(owner, clientId);
    sockets.set(key, (sockets.get(key) ?? new Set()).add(follow));
    open.set(owner, (open.get(owner) ?? 0) + 1);
    ws.on('close', () => {
      closed.abort();
      open.set(owner, open.get(owner)! - 1);
      if (!open.get(owner)) open.delete(owner);
      sockets.get(key)?.delete(follow);
      if (!sockets.get(key)?.size) sockets.delete(key);
    });
    ws.on('error', () => ws.terminate());
    void status().catch(() => undefined);
  };

  deps.events.closing.addEventListener('abort', () => {
    for (const ws of wss.clients) {
      ws.close(1001, 'server shutting down');
      setTimeout(() => ws.terminate(), 1000).unref();
    }
    subscriber?.disconnect();
  });

  return {
    /** The HTTP server's `upgrade` handler. */
    onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== COMFY_WS_PATH) return refuse(socket, 404, `no websocket at ${url.pathname}`);
      const who = identifyRequest(deps.keys, req, { query: 'token' });
      if (who instanceof AppError) return refuse(socket, 401, who);
      const limit = deps.config.limits.maxOpenStreamsPerKey;
      if ((open.get(who) ?? 0) >= limit)
        return refuse(socket, 429, new AppError(429, 'too_many_streams', `at most ${limit} open websockets per key`));
      const clientId = url.searchParams.get('clientId')?.slice(0, 128) || randomUUID();
      void listen().then(() => wss.handleUpgrade(req, socket, head, (ws) => connected(ws, who, clientId)));
    },
  };
}
