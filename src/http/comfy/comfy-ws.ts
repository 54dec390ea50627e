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
const clientKey = (owner: string, clientId: string) => `${owner}\n${clientId}`;
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
  const clients = new ComfyClients();
  const announced = announcements(deps, clients);

  deps.events.closing.addEventListener('abort', () => {
    for (const ws of wss.clients) {
      ws.close(1001, 'server shutting down');
      setTimeout(() => ws.terminate(), 1000).unref();
    }
    announced.disconnect();
  });

  return {
    /** The HTTP server's `upgrade` handler. */
    onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== COMFY_WS_PATH) return refuse(socket, 404, `no websocket at ${url.pathname}`);
      const who = identifyRequest(deps.keys, req, { query: 'token' });
      if (who instanceof AppError) return refuse(socket, 401, who);
      const limit = deps.config.limits.maxOpenStreamsPerKey;
      if (clients.openCount(who) >= limit)
        return refuse(socket, 429, new AppError(429, 'too_many_streams', `at most ${limit} open websockets per key`));
      const clientId = url.searchParams.get('clientId')?.slice(0, 128) || randomUUID();
      void announced
        .listen()
        .then(() => wss.handleUpgrade(req, socket, head, (ws) => connected(deps, comfy, clients, ws, who, clientId)));
    },
  };
}

/** The open sockets: who hears of each prompt (by key and client_id), and how many each key holds. */
class ComfyClients {
  private readonly followers = new Map<string, Set<(promptId: string) => void>>();
  /** Open sockets per key, held to MAX_OPEN_STREAMS_PER_KEY like event streams. */
  private readonly open = new Map<string, number>();

  openCount(owner: string): number {
    return this.open.get(owner) ?? 0;
  }

  /** Tells the key's sockets with that client_id to follow the prompt. */
  announce(owner: string, clientId: string, promptId: string): void {
    for (const follow of this.followers.get(clientKey(owner, clientId)) ?? []) follow(promptId);
  }

  /** Counts one more open socket; returns the function that forgets it. */
  add(owner: string, clientId: string, follow: (promptId: string) => void): () => void {
    const key = clientKey(owner, clientId);
    this.followers.set(key, (this.followers.get(key) ?? new Set()).add(follow));
    this.open.set(owner, (this.open.get(owner) ?? 0) + 1);
    return () => {
      this.open.set(owner, this.open.get(owner)! - 1);
      if (!this.open.get(owner)) this.open.delete(owner);
      this.followers.get(key)?.delete(follow);
      if (!this.followers.get(key)?.size) this.followers.delete(key);
    };
  }
}

/** The Redis channel where every API process announces the prompts it takes. */
function announcements(deps: LiveAppDeps, clients: ComfyClients) {
  let subscriber: RedisClient | undefined;
  let subscribed: Promise<unknown> = Promise.resolve();
  return {
    /** Subscribed before the first socket opens, so no prompt sent after it is missed. */
    listen() {
      if (subscriber) return subscribed;
      subscriber = createRedis(deps.config.redis.target, 'subscriber');
      subscriber.on('error', (err: Error) => deps.logger.debug({ err: err.message }, 'comfy websocket subscriber'));
      subscribed = subscriber.subscribe(announceChannel(deps.config.redis.prefix)).catch(() => undefined);
      subscriber.on('message', (_channel: string, text: string) => {
        const a = announcementSchema.safeParse(parseJson(text));
        if (a.success) clients.announce(a.data.owner, a.data.client_id, a.data.prompt_id);
      });
      return subscribed;
    },
    disconnect: () => subscriber?.disconnect(),
  };
}

/** A socket opened: it gets the key's queue status now and after each prompt it follows ends. */
function connected(
  deps: LiveAppDeps,
  comfy: ComfyStore,
  clients: ComfyClients,
  ws: WebSocket,
  owner: string,
  clientId: string,
) {
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
  const forget = clients.add(owner, clientId, follow);
  ws.on('close', () => {
    closed.abort();
    forget();
  });
  ws.on('error', () => ws.terminate());
  void status().catch(() => undefined);
}
