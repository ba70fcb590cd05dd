// Heavy work (Git fetch and unpack, archiving, hashing) runs in worker threads, so the API keeps
// answering in milliseconds while sources reconcile. A job names an exported async function of a
// module; its argument and result must be structured-cloneable. Errors come back as plain errors
// that keep their `name`, `message` and `reason`, for the reconciler to map to conditions.

import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

interface Job {
  id: number;
  module: string;
  fn: string;
  arg: unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  signal?: AbortSignal;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

export class WorkerError extends Error {
  reason?: string;
  constructor(message: string, name: string, reason?: string) {
    super(message);
    this.name = name;
    if (reason) this.reason = reason;
  }
}

/** The code a worker starts with: TypeScript sources need tsx's loader inside the thread too. */
const ENTRY = new URL('./worker-entry.js', import.meta.url).href;
const bootstrap = (entry: string) =>
  entry.endsWith('.ts')
    ? `import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(entry)}))`
    : `import(${JSON.stringify(entry)})`;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly entry: string;

  constructor(readonly size = Math.max(1, cpus().length)) {
    // Running from src/ (tsx) the entry is a .ts file next to this one; from dist/ it is .js.
    this.entry = import.meta.url.endsWith('.ts') ? ENTRY.replace(/\.js$/, '.ts') : ENTRY;
  }

  /** Runs `fn(arg)` exported by `module` (an absolute file URL) in a worker. */
  run<T>(module: string, fn: string, arg: unknown, signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    return new Promise<T>((resolve, reject) => {
      const job: Job = { id: this.nextId++, module, fn, arg, resolve: resolve as (v: unknown) => void, reject, signal };
      signal?.addEventListener('abort', () => this.abort(job), { once: true });
      this.waiting.push(job);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.waiting.splice(0)) j.reject(new Error('worker pool is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private dispatch(): void {
    while (this.waiting.length) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.waiting.shift()!;
      slot.job = job;
      slot.worker.postMessage({ id: job.id, module: job.module, fn: job.fn, arg: job.arg });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(bootstrap(this.entry), { eval: true });
    worker.unref();
    const slot: Slot = { worker };
    worker.on('message', (m: { id: number; ok?: unknown; error?: { message: string; name: string; reason?: string } }) => {
      const job = slot.job;
      if (!job || job.id !== m.id) return;
      slot.job = undefined;
      if (m.error) job.reject(new WorkerError(m.error.message, m.error.name, m.error.reason));
      else job.resolve(m.ok);
      this.dispatch();
    });
    worker.on('error', (e) => this.replace(slot, e));
    worker.on('exit', () => this.replace(slot, new Error('worker exited')));
    this.slots.push(slot);
    return slot;
  }

  /** A worker died (or was stopped to abort its job): fail its job and start afresh. */
  private replace(slot: Slot, e: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    slot.job?.reject(e);
    slot.job = undefined;
    if (!this.closed) this.dispatch();
  }

  private abort(job: Job): void {
    const queued = this.waiting.indexOf(job);
    if (queued >= 0) {
      this.waiting.splice(queued, 1);
      job.reject(job.signal?.reason ?? new Error('aborted'));
      return;
    }
    const slot = this.slots.find((s) => s.job === job);
    if (!slot) return;
    // The only way to stop JavaScript running in a thread is to end the thread.
    job.reject(job.signal?.reason ?? new Error('aborted'));
    slot.job = undefined;
    this.slots.splice(this.slots.indexOf(slot), 1);
    void slot.worker.terminate();
    this.dispatch();
  }
}
