import type { Logger } from '../../src/logger';

/** One concern of the worker process, with a start and a stop. */
export interface Component {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A component that opens something later components use: `value`, once started. */
export interface Resource<T> extends Component {
  readonly value: T;
}

/** A resource opened by `open` at start and closed by `close` at stop. */
export function resource<T>(
  name: string,
  open: () => Promise<T> | T,
  close: (value: T) => Promise<void> | void,
): Resource<T> {
  let opened: { value: T } | undefined;
  return {
    name,
    get value(): T {
      if (!opened) throw new Error(`${name} is used before it started (check the order of the components)`);
      return opened.value;
    },
    async start() {
      opened = { value: await open() };
    },
    async stop() {
      if (opened) await close(opened.value);
    },
  };
}

/** A component that calls `tick` every `ms` while started; `tick` reports its own errors. */
export function interval(name: string, ms: number, tick: () => void): Component {
  let timer: NodeJS.Timeout | undefined;
  return {
    name,
    async start() {
      timer = setInterval(tick, ms);
    },
    async stop() {
      clearInterval(timer);
    },
  };
}

/** A component that only does something at stop (its place in the list says when). */
export function atStop(name: string, stop: () => Promise<void> | void): Component {
  return { name, start: async () => undefined, stop: async () => void (await stop()) };
}

/** Stops `started` in reverse order, logging each failure once; returns the names that failed. */
async function stopAll(started: Component[], logger: Logger): Promise<string[]> {
  const failed: string[] = [];
  for (const component of [...started].reverse()) {
    try {
      logger.debug({ component: component.name }, 'stopping');
      await component.stop();
    } catch (err) {
      logger.error({ component: component.name, err }, 'stopping a component failed');
      failed.push(component.name);
    }
  }
  return failed;
}

/**
 * Starts `components` in order. When one fails to start, those already started are stopped in
 * reverse and the start error is thrown. Returns a stop that stops them all in reverse order (once,
 * however often it is called), going on past failures and rejecting at the end when any failed.
 */
export async function startComponents(components: Component[], logger: Logger): Promise<() => Promise<void>> {
  const started: Component[] = [];
  for (const component of components) {
    try {
      logger.debug({ component: component.name }, 'starting');
      await component.start();
    } catch (err) {
      await stopAll(started, logger);
      throw err;
    }
    started.push(component);
  }
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= stopAll(started, logger).then((failed) => {
      if (failed.length) throw new Error(`could not stop ${failed.join(', ')} (logged above)`);
    }));
}
