// The packet loops of the benchmark, run in both memif-ts processes: one-way sender and receiver,
// echo initiator and reflector (copy and zero-copy API), round-trip latency. They poll, yield to
// the event loop every SPIN bursts so that control messages flow, never allocate per packet
// themselves, and record packets, time and heap allocation over their measured window (probe.ts).
import { setTimeout as delay, setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Memif, RxBurst } from 'memif-ts';
import { Checker, frame, receiveOnce, sender } from './frames.js';
import { ArrivalWindow, drive, now, Probe, round, Tally } from './probe.js';
import { runOnWorkers } from './workers.js';
import { BURST, type Control, type Port, type RxMode, SEQ_AT, type WorkResult, type WorkSpec } from './workloads.js';

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

// ---- one-way ----

/** Sends numbered frames on every queue for warmMs + measureMs (or until stopped). */
export async function send(m: Port, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const senders = Array.from({ length: Q }, () => sender(s));
  const sent = new Tally(Q);
  const seq = sent.perQueue;
  const probe = new Probe();
  const start = now();
  const warmEnd = start + s.warmMs;
  const end = s.measureMs > 0 ? warmEnd + s.measureMs : Number.POSITIVE_INFINITY;
  const pass = sent.pass((q) => senders[q].send(m, q, BURST, seq[q]));
  await drive(() => {
    round(pass);
    probe.tick();
    const t = now();
    if (!probe.started && t >= warmEnd) probe.begin(sent.total);
    if (t >= end || ctl.stop || !m.connected) {
      probe.end(t, sent.total);
      return false;
    }
    return true;
  });
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: seq,
    verified: 0,
    errors: 0,
    lost: 0,
    heap: probe.heap(probe.packets),
  };
}

/**
 * Receives on every queue until the sender's totals are known and reached (or, without totals,
 * until stopped and idle for 50 ms). The window runs from warmMs after the first packet to the
 * end of the round that saw the last one.
 */
export async function receive(m: Port, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const checkers = Array.from({ length: Q }, () => new Checker(s.size, s.check));
  const got = new Tally(Q);
  const probe = new Probe();
  const w = new ArrivalWindow(probe, s.warmMs);
  let giveUp = Number.POSITIVE_INFINITY;
  const pass = got.pass((q) => receiveOnce(m, s.api, q, checkers[q]));
  await drive(() => {
    const busy = round(pass);
    probe.tick();
    const t = now();
    w.observe(busy, t, got.total);
    const totals = ctl.totals;
    if (totals !== undefined) {
      if (got.perQueue.every((g, q) => g >= totals[q])) return false;
      if (giveUp === Number.POSITIVE_INFINITY) giveUp = t + 10_000;
      if (t > giveUp) return false; // packets were lost: report what arrived
    } else if (ctl.stop && t - Math.max(w.last, w.first) > 50) {
      return false;
    }
    return m.connected;
  });
  probe.end(w.last, got.total);
  const verified = sum(checkers.map((c) => c.verified));
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: got.perQueue,
    verified,
    errors: sum(checkers.map((c) => c.errors)),
    lost: ctl.totals ? sum(ctl.totals) - verified : 0,
    heap: probe.heap(probe.packets),
  };
}

// ---- echo ----

/**
 * Echo initiator: keeps `window` numbered frames in flight on every queue for warmMs + measureMs,
 * checking what comes back; then stops sending and waits for the rest. The rate is packets back.
 */
export async function initiate(m: Port, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const senders = Array.from({ length: Q }, () => sender(s));
  const checkers = Array.from({ length: Q }, () => new Checker(s.size, true));
  const sent = new Array<number>(Q).fill(0);
  const returned = new Tally(Q);
  const back = returned.perQueue;
  const probe = new Probe();
  const start = now();
  const warmEnd = start + s.warmMs;
  const measureEnd = warmEnd + s.measureMs;
  let drainEnd = 0;
  let sending = true;
  const pass = returned.pass((q) => {
    if (sending) {
      const room = s.window - (sent[q] - back[q]);
      if (room > 0) sent[q] += senders[q].send(m, q, room, sent[q]);
    }
    return receiveOnce(m, s.api, q, checkers[q]);
  });
  await drive(() => {
    round(pass);
    probe.tick();
    const t = now();
    if (!probe.started && t >= warmEnd) probe.begin(returned.total);
    if (sending && (t >= measureEnd || ctl.stop || !m.connected)) {
      probe.end(t, returned.total);
      sending = false;
      drainEnd = t + 2000;
    }
    return sending || !(back.every((b, q) => b >= sent[q]) || t > drainEnd || ctl.stop || !m.connected);
  });
  const verified = sum(checkers.map((c) => c.verified));
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: sent,
    verified,
    errors: sum(checkers.map((c) => c.errors)),
    lost: sum(sent) - sum(back),
    heap: probe.heap(probe.packets),
  };
}

/** Zero-copy reflector state of one queue: an rx burst held until all its packets went back. */
class ZcReflector {
  #rb: RxBurst | undefined;
  #next = 0;

  /** Echoes what it can; returns the packets sent back. */
  step(m: Port, q: number): number {
    let rb = this.#rb;
    if (rb === undefined) {
      rb = m.rxBurstZeroCopy(q, BURST);
      if (rb.count === 0) {
        rb.release();
        return 0;
      }
      this.#rb = rb;
      this.#next = 0;
    }
    // As many buffers as the packets left have segments (both rings have buffers of one size).
    const tb = m.txAlloc(q, rb.first[rb.count] - rb.first[this.#next]);
    const sent = tb.count > 0 ? tb.pushFrom(rb, this.#next) : 0;
    if (sent > 0) tb.commit();
    else tb.abort();
    this.#next += sent;
    if (this.#next === rb.count) {
      rb.release();
      this.#rb = undefined;
    }
    return sent;
  }

  /** Gives a held burst back (at the end). */
  drop(): void {
    this.#rb?.release();
    this.#rb = undefined;
  }
}

/** Copy-API reflector state of one queue: received packets not yet taken by txBurst. */
class CopyReflector {
  #pending: Buffer[] = [];

  step(m: Port, q: number): number {
    if (this.#pending.length === 0) this.#pending = m.rxBurst(q, BURST);
    const p = this.#pending;
    if (p.length === 0) return 0;
    const n = m.txBurst(q, p);
    this.#pending = n === p.length ? [] : p.slice(n);
    return n;
  }

  drop(): void {
    this.#pending = [];
  }
}

/** Echo reflector: sends every packet back on the queue it came from, until stopped. */
export async function reflect(m: Port, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  const Q = s.queues;
  const reflectors = Array.from({ length: Q }, () => (s.api === 'zc' ? new ZcReflector() : new CopyReflector()));
  const echoed = new Tally(Q);
  const probe = new Probe();
  const w = new ArrivalWindow(probe, s.warmMs);
  const pass = echoed.pass((q) => reflectors[q].step(m, q));
  await drive(() => {
    const busy = round(pass);
    probe.tick();
    w.observe(busy, now(), echoed.total);
    return !ctl.stop && m.connected;
  });
  probe.end(w.last, echoed.total);
  if (m.connected) for (const r of reflectors) r.drop();
  return {
    packets: probe.packets,
    ms: probe.ms,
    perQueue: echoed.perQueue,
    verified: 0,
    errors: 0,
    lost: 0,
    heap: probe.heap(probe.packets),
  };
}

// ---- latency ----

/**
 * Round trips with one packet in flight on queue 0 (copy API). Polling: both ends spin, and yield
 * to the event loop between round trips at most once a millisecond. Interrupt: each end waits for
 * the eventfd, on the event loop.
 */
export async function ping(m: Memif, s: WorkSpec, mode: RxMode): Promise<WorkResult> {
  const pkt = [frame(s.size)];
  const rtts: number[] = [];
  const n = s.warmup + s.count;
  const probe = new Probe();
  if (mode === 'polling') {
    let lastYield = now();
    for (let i = 0; i < n; i++) {
      if (i === s.warmup) probe.begin(0);
      pkt[0].writeUInt32LE(i, SEQ_AT);
      const t0 = now();
      while (m.txBurst(0, pkt) === 0) if (now() - t0 > 1000) throw new Error('ping: tx ring stays full');
      let back = m.rxBurst(0, 1);
      let polls = 0;
      while (back.length === 0) {
        if ((++polls & 0xfff) === 0 && now() - t0 > 2000) throw new Error(`ping: no reply to round trip ${i}`);
        back = m.rxBurst(0, 1);
      }
      const t1 = now();
      if (back[0].readUInt32LE(SEQ_AT) !== i) throw new Error(`ping: reply ${back[0].readUInt32LE(SEQ_AT)}, want ${i}`);
      if (i >= s.warmup) rtts.push((t1 - t0) * 1000);
      if (t1 - lastYield > 1) {
        await yieldToLoop();
        lastYield = now();
      }
    }
  } else {
    await new Promise<void>((resolve, reject) => {
      let i = 0;
      let t0 = 0;
      const timer = setTimeout(() => finish(new Error(`ping: no reply to round trip ${i}`)), 30_000);
      const next = () => {
        if (i === s.warmup) probe.begin(0);
        pkt[0].writeUInt32LE(i, SEQ_AT);
        t0 = now();
        if (m.txBurst(0, pkt) === 0) finish(new Error('ping: tx ring full'));
      };
      const onInterrupt = (q: number) => {
        if (q !== 0) return;
        const back = m.rxBurst(0, 1);
        if (back.length === 0) return; // spurious
        const t1 = now();
        if (i >= s.warmup) rtts.push((t1 - t0) * 1000);
        if (++i === n) finish();
        else next();
      };
      const finish = (err?: Error) => {
        clearTimeout(timer);
        m.off('interrupt', onInterrupt);
        if (err) reject(err);
        else resolve();
      };
      m.on('interrupt', onInterrupt);
      next();
    });
  }
  probe.end(now(), s.count);
  return {
    packets: s.count,
    ms: probe.ms,
    perQueue: [n],
    verified: n,
    errors: 0,
    lost: 0,
    heap: probe.heap(s.count),
    rtts,
  };
}

/** The other end of ping: sends every packet back at once, until stopped. */
export async function pong(m: Memif, mode: RxMode, ctl: Control): Promise<WorkResult> {
  let echoed = 0;
  const echo = () => {
    const p = m.rxBurst(0, BURST);
    if (p.length === 0) return;
    let done = 0;
    while (done < p.length) done += m.txBurst(0, done === 0 ? p : p.slice(done));
    echoed += p.length;
  };
  if (mode === 'polling') {
    let lastYield = now();
    while (!ctl.stop && m.connected) {
      for (let i = 0; i < 256; i++) echo();
      const t = now();
      if (t - lastYield > 1) {
        await yieldToLoop();
        lastYield = now();
      }
    }
  } else {
    const onInterrupt = (q: number) => {
      if (q === 0) echo();
    };
    m.on('interrupt', onInterrupt);
    while (!ctl.stop && m.connected) await delay(5);
    m.off('interrupt', onInterrupt);
  }
  const probe = new Probe();
  probe.end(now(), echoed);
  return {
    packets: echoed,
    ms: 0,
    perQueue: [echoed],
    verified: 0,
    errors: 0,
    lost: 0,
    heap: probe.heap(0),
  };
}

/** Runs the one-way or echo workload `s` on `m` (a Memif, or one queue on a worker thread). */
export function runPort(m: Port, s: WorkSpec, ctl: Control): Promise<WorkResult> {
  switch (s.kind) {
    case 'send':
      return send(m, s, ctl);
    case 'receive':
      return receive(m, s, ctl);
    case 'initiate':
      return initiate(m, s, ctl);
    case 'reflect':
      return reflect(m, s, ctl);
    default:
      throw new Error(`${s.kind} runs on a Memif, not on a queue`);
  }
}

/** Runs the workload `s` on `m`: on worker threads (one per queue) if `s.workers`. */
export function run(m: Memif, s: WorkSpec, ctl: Control, mode: RxMode = 'polling'): Promise<WorkResult> {
  if (s.kind === 'ping') return ping(m, s, mode);
  if (s.kind === 'pong') return pong(m, mode, ctl);
  return s.workers ? runOnWorkers(m, s, ctl) : runPort(m, s, ctl);
}
