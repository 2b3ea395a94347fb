// Caller misuse (issue 8, class 9): every public method and every option of Memif.create, called
// with each bad value — null, undefined where required, Symbol(), 1n, {}, [], NaN, -1, 1.5,
// Infinity, '1', an object whose getters throw, a Proxy that throws on every trap — throws an
// InvalidArgumentError (MEMIF_ERR_INVAL_ARG, or MEMIF_ERR_QID for a queue id): never a TypeError,
// never a failure inside an error message, never a success that did nothing. Afterwards the
// interface still passes traffic (bytes compared), the event loop kept turning, a bystander pair
// kept passing traffic, and fds and mappings are back to baseline.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describe as describeValue } from '../../src/errors.js';
import {
  createStream,
  InvalidArgumentError,
  Memif,
  MemifError,
  type MemifOptions,
  packet as pkt,
  type RxBurst,
  type TxBurst,
  WorkerQueue,
} from '../../src/index.js';
import { OPTION_NAMES } from '../../src/options.js';
import { assertReleased, Bystander, countingLogger, exchange, packet, until } from '../helpers/hostile.js';
import { LoopWatch } from '../helpers/liveness.js';
import { snapshot } from '../helpers/resources.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

const T = { timeout: 30_000 };

class UserError extends Error {}

/** An object whose every property a check might read (and its conversions to a primitive) throws. */
function throwingGetters(): object {
  const o = {};
  const keys: PropertyKey[] = [
    'length',
    'then',
    'valueOf',
    'toString',
    Symbol.toPrimitive,
    'maxBurst',
    'timeoutMs',
    'signal',
    'mac',
    'ip',
    'senderMac',
    'senderIp',
    'targetIp',
    'srcMac',
    'dstMac',
    'srcIp',
    'dstIp',
    'id',
    'seq',
    'payload',
    'uid',
    'gid',
    'queueId',
    'readableHighWaterMark',
    'writableHighWaterMark',
    'retryMs',
    'readable',
    'writable',
  ];
  for (const k of keys) {
    Object.defineProperty(o, k, {
      enumerable: typeof k === 'string' && k !== 'then' && k !== 'valueOf' && k !== 'toString',
      get() {
        throw new UserError(`getter ${String(k)}`);
      },
    });
  }
  return o;
}

/** A Proxy that throws on every trap. */
function throwingProxy(): object {
  const handler = new Proxy(
    {},
    {
      get: () => () => {
        throw new UserError('trap');
      },
    },
  );
  return new Proxy({}, handler);
}

interface Bad {
  label: string;
  value: unknown;
}

const BAD: Bad[] = [
  { label: 'null', value: null },
  { label: 'undefined', value: undefined },
  { label: 'Symbol()', value: Symbol('bad') },
  { label: '1n', value: 1n },
  { label: '{}', value: {} },
  { label: '[]', value: [] },
  { label: 'NaN', value: Number.NaN },
  { label: '-1', value: -1 },
  { label: '1.5', value: 1.5 },
  { label: 'Infinity', value: Number.POSITIVE_INFINITY },
  { label: "'1'", value: '1' },
  { label: 'throwing getters', value: throwingGetters() },
  { label: 'throwing Proxy', value: throwingProxy() },
];

/** Labels of BAD values that are valid for a parameter (a default, or a value it accepts). */
type Valid = readonly string[];

/** One parameter of one method: `call(v)` calls the method with v in that parameter. */
interface Param {
  name: string;
  call: (v: unknown) => unknown;
  valid?: Valid;
  errorName?: 'MEMIF_ERR_INVAL_ARG' | 'MEMIF_ERR_QID';
}

function checkError(e: unknown, errorName: string, where: string): void {
  assert.ok(
    e instanceof InvalidArgumentError,
    `${where}: expected InvalidArgumentError, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`,
  );
  assert.ok(e instanceof MemifError);
  assert.equal(e.errorName, errorName, `${where}: ${e.message}`);
  assert.equal(typeof e.message, 'string');
}

/** Calls `p` with every BAD value it does not accept; each must throw (or reject) InvalidArgumentError. */
async function expectRefused(p: Param): Promise<number> {
  let n = 0;
  for (const bad of BAD) {
    if (p.valid?.includes(bad.label)) continue;
    const where = `${p.name} with ${bad.label}`;
    let r: unknown;
    try {
      r = p.call(bad.value);
    } catch (e) {
      checkError(e, p.errorName ?? 'MEMIF_ERR_INVAL_ARG', where);
      n++;
      continue;
    }
    if (r instanceof Promise) {
      let rejected = false;
      const value = await r.then(
        (v) => v,
        (e) => {
          rejected = true;
          checkError(e, p.errorName ?? 'MEMIF_ERR_INVAL_ARG', where);
        },
      );
      if (rejected) {
        n++;
        continue;
      }
      if (value instanceof Memif) await value.close();
    }
    assert.fail(`${where}: did not throw (returned ${typeof r})`);
  }
  return n;
}

/** Every option (the list options.ts checks against: a new option is attacked here too). */
const OPTIONS = OPTION_NAMES;

/** BAD values each option accepts: undefined gives the default, and a few take any string or {}. */
const OPTION_VALID: Record<string, Valid> = {
  role: [],
  socketPath: ['undefined', "'1'"],
  interfaceName: ['undefined', "'1'"],
  instanceName: ['undefined', "'1'"],
  secret: ['undefined', "'1'"],
  socketOwner: ['undefined', '{}'],
  netns: ['undefined', "'1'"],
};

describe('caller misuse: every public method with every bad value', () => {
  let tmp: TempDir;
  const logger = countingLogger();
  let bystander: Bystander;
  before(async () => {
    tmp = tempDir('memif-misuse-');
    bystander = await Bystander.start(tmp.socket('bystander.sock'), logger);
  });
  after(async () => {
    await bystander.close();
    tmp.remove();
  });

  test('Memif.create: the options object and every option', T, async () => {
    const watch = new LoopWatch();
    const baseline = snapshot();
    const base: MemifOptions = { role: 'slave', socketPath: tmp.socket('nobody.sock'), logger };
    let refused = await expectRefused({
      name: 'Memif.create(options)',
      call: (v) => Memif.create(v as MemifOptions),
    });
    for (const key of OPTIONS) {
      refused += await expectRefused({
        name: `Memif.create({ ${key} })`,
        call: (v) => Memif.create({ ...base, [key]: v } as MemifOptions),
        valid: OPTION_VALID[key] ?? ['undefined'],
      });
    }
    // Nested objects: socketOwner's ids and the logger's methods.
    for (const key of ['uid', 'gid']) {
      refused += await expectRefused({
        name: `Memif.create({ socketOwner: { ${key} } })`,
        call: (v) => Memif.create({ ...base, role: 'master', socketOwner: { [key]: v } }),
        valid: ['undefined'],
      });
    }
    for (const key of ['debug', 'info', 'warn', 'error']) {
      refused += await expectRefused({
        name: `Memif.create({ logger: { ${key} } })`,
        call: (v) => Memif.create({ ...base, logger: { ...logger, [key]: v } }),
      });
    }
    // netns strings that name no namespace file: empty, relative with a '/', '.', '..', a NUL.
    for (const netns of ['', 'a/b', '.', '..', 'x\0y', `/${'a'.repeat(5000)}`]) {
      await assert.rejects(Memif.create({ ...base, netns }), (e: unknown) => {
        checkError(e, 'MEMIF_ERR_INVAL_ARG', `netns ${JSON.stringify(netns.slice(0, 10))}`);
        assert.match((e as Error).message, /'netns'/);
        return true;
      });
      refused++;
    }
    assertCount(refused, 250);

    // A throwing getter on a known option: InvalidArgumentError with the user's error as cause.
    const thrown = new UserError('role getter');
    await assert.rejects(
      Memif.create({
        ...base,
        get role(): 'slave' {
          throw thrown;
        },
      }),
      (e: unknown) => {
        checkError(e, 'MEMIF_ERR_INVAL_ARG', 'role getter');
        assert.equal((e as Error).cause, thrown);
        assert.match((e as Error).message, /'role'/);
        return true;
      },
    );
    // Each option is read exactly once: a getter cannot pass the check and then change its answer.
    let reads = 0;
    const m = await Memif.create({
      ...base,
      get log2RingSize() {
        reads++;
        return reads === 1 ? 4 : 99;
      },
    });
    try {
      assert.equal(reads, 1);
      assert.equal(m.options.log2RingSize, 4);
    } finally {
      await m.close();
    }
    await watch.assertAlive('Memif.create misuse');
    await bystander.check('after Memif.create misuse');
    await assertReleased(baseline, 'Memif.create misuse');
  });

  test('Memif methods, RxBurst and TxBurst accessors, then traffic still passes', T, async () => {
    const watch = new LoopWatch();
    const baseline = snapshot();
    const path = tmp.socket('pair.sock');
    const master = await Memif.create({ role: 'master', socketPath: path, logger, rxMode: 'polling' });
    const slave = await Memif.create({ role: 'slave', socketPath: path, logger, rxMode: 'polling' });
    try {
      await Promise.all([master.waitForConnect(), slave.waitForConnect()]);
      await exchange(master, slave, 'before the misuse');
      const QID = 'MEMIF_ERR_QID' as const;
      const good = [packet('good')];
      const params: Param[] = [
        { name: 'txBurst(queueId)', call: (v) => slave.txBurst(v as number, good), errorName: QID },
        { name: 'txBurst(packets)', call: (v) => slave.txBurst(0, v as Buffer[]), valid: ['[]'] },
        {
          name: 'txBurst(packets[i])',
          call: (v) => slave.txBurst(0, [good[0], v as Buffer]),
        },
        { name: 'txBurst(count)', call: (v) => slave.txBurst(0, [], v as number), valid: ['undefined'] },
        { name: 'rxBurst(queueId)', call: (v) => master.rxBurst(v as number), errorName: QID },
        { name: 'rxBurst(max)', call: (v) => master.rxBurst(0, v as number), valid: ['undefined'] },
        { name: 'rxBurstZeroCopy(queueId)', call: (v) => master.rxBurstZeroCopy(v as number), errorName: QID },
        { name: 'rxBurstZeroCopy(max)', call: (v) => master.rxBurstZeroCopy(0, v as number), valid: ['undefined'] },
        { name: 'txAlloc(queueId)', call: (v) => slave.txAlloc(v as number), errorName: QID },
        { name: 'txAlloc(count)', call: (v) => slave.txAlloc(0, v as number), valid: ['undefined'] },
        { name: 'handOff(kind)', call: (v) => slave.handOff(v as 'rx', 0) },
        { name: 'handOff(queueId)', call: (v) => slave.handOff('rx', v as number), errorName: QID },
        { name: 'setRxMode(queueId)', call: (v) => master.setRxMode(v as number, 'polling'), errorName: QID },
        { name: 'setRxMode(mode)', call: (v) => master.setRxMode(0, v as 'polling') },
        { name: 'receive(queueId)', call: (v) => master.receive(v as number), valid: ['undefined'], errorName: QID },
        { name: 'receive(options)', call: (v) => master.receive(0, v as object), valid: ['undefined', '{}'] },
        {
          name: 'receive({ maxBurst })',
          call: (v) => master.receive(0, { maxBurst: v as number }),
          valid: ['undefined'],
        },
        { name: 'createStream(memif)', call: (v) => createStream(v as Memif) },
        { name: 'createStream(options)', call: (v) => createStream(master, v as object), valid: ['undefined', '{}'] },
        {
          name: 'createStream({ queueId })',
          call: (v) => createStream(master, { queueId: v as number }),
          valid: ['undefined'],
        },
        {
          name: 'waitForConnect(options)',
          call: (v) => master.waitForConnect(v as object),
          valid: ['undefined', '{}'],
        },
        {
          name: 'waitForConnect({ timeoutMs })',
          call: (v) => master.waitForConnect({ timeoutMs: v as number }),
          valid: ['undefined', 'Infinity', '1.5'],
        },
        {
          name: 'waitForConnect({ signal })',
          call: (v) => master.waitForConnect({ signal: v as AbortSignal }),
          valid: ['undefined'],
        },
      ];
      let refused = 0;
      for (const p of params) refused += await expectRefused(p);

      // A live zero-copy rx burst with two packets.
      const sent = [packet('zc one', 80), packet('zc two', 90)];
      assert.equal(slave.txBurst(0, sent), 2);
      let rb: RxBurst | undefined;
      await until(() => {
        rb = master.rxBurstZeroCopy(0);
        if (rb.count === 2) return true;
        rb.release();
        return false;
      });
      const r = rb as RxBurst;
      const rxParams: Param[] = [];
      for (const name of ['length', 'segments', 'view'] as const) {
        rxParams.push({ name: `RxBurst.${name}(i)`, call: (v) => r[name](v as number) });
      }
      for (const name of ['region', 'offset', 'segmentLength'] as const) {
        rxParams.push({ name: `RxBurst.${name}(i)`, call: (v) => r[name](v as number) });
        rxParams.push({ name: `RxBurst.${name}(i, seg)`, call: (v) => r[name](0, v as number), valid: ['undefined'] });
      }
      rxParams.push({ name: 'RxBurst.bytes(r)', call: (v) => r.bytes(v as number) });
      rxParams.push({ name: 'RxBurst.copy(i)', call: (v) => r.copy(v as number, Buffer.alloc(200)) });
      rxParams.push({ name: 'RxBurst.copy(target)', call: (v) => r.copy(0, v as Uint8Array) });
      rxParams.push({
        name: 'RxBurst.copy(at)',
        call: (v) => r.copy(0, Buffer.alloc(200), v as number),
        valid: ['undefined'],
      });
      for (const p of rxParams) refused += await expectRefused(p);
      assert.deepEqual([Buffer.from(r.view(0)), Buffer.from(r.view(1))], sent, 'the burst is intact');

      // A live zero-copy tx burst (master → slave), forwarding from the rx burst once the checks pass.
      const b: TxBurst = master.txAlloc(0, 4);
      assert.ok(b.count > 0, 'the slave offered buffers');
      const txParams: Param[] = [
        { name: 'TxBurst.region(i)', call: (v) => b.region(v as number) },
        { name: 'TxBurst.offset(i)', call: (v) => b.offset(v as number) },
        { name: 'TxBurst.capacity(i)', call: (v) => b.capacity(v as number) },
        { name: 'TxBurst.bytes(r)', call: (v) => b.bytes(v as number) },
        { name: 'TxBurst.setLength(i)', call: (v) => b.setLength(v as number, 10) },
        { name: 'TxBurst.setLength(length)', call: (v) => b.setLength(0, v as number) },
        { name: 'TxBurst.setLength(more)', call: (v) => b.setLength(0, 10, v as boolean), valid: ['undefined'] },
        { name: 'TxBurst.write(i)', call: (v) => b.write(v as number, good[0]) },
        { name: 'TxBurst.write(packet)', call: (v) => b.write(0, v as Uint8Array) },
        { name: 'TxBurst.push(packet)', call: (v) => b.push(v as Uint8Array) },
        { name: 'TxBurst.pushFrom(rb)', call: (v) => b.pushFrom(v as RxBurst) },
        { name: 'TxBurst.pushFrom(from)', call: (v) => b.pushFrom(r, v as number), valid: ['undefined'] },
        { name: 'TxBurst.pushFrom(count)', call: (v) => b.pushFrom(r, 0, v as number), valid: ['undefined'] },
        { name: 'TxBurst.commit(n)', call: (v) => b.commit(v as number), valid: ['undefined'] },
      ];
      for (const p of txParams) refused += await expectRefused(p);
      assert.equal(b.live, true, 'no bad call committed the burst');
      assert.equal(b.used, 0, 'no bad call filled a buffer');
      // Now the real thing: both packets forwarded back to the slave, bytes compared.
      assert.equal(b.pushFrom(r), 2);
      assert.equal(b.commit(), 2);
      r.release();
      const back: Buffer[] = [];
      await until(() => {
        back.push(...slave.rxBurst(0));
        return back.length >= 2;
      });
      assert.deepEqual(back, sent);
      assertCount(refused, 400);

      // And the copy path, both ways.
      for (let i = 0; i < 3; i++) await exchange(master, slave, `after the misuse ${i}`);
      assert.equal(master.connected && slave.connected, true);
    } finally {
      await slave.close();
      await master.close();
    }
    await watch.assertAlive('Memif method misuse');
    await bystander.check('after Memif method misuse');
    await assertReleased(baseline, 'Memif method misuse');
  });

  test('WorkerQueue methods (attached in this thread), then traffic still passes', T, async () => {
    const watch = new LoopWatch();
    const baseline = snapshot();
    const socketPath = tmp.socket('worker-misuse.sock');
    const master = await Memif.create({ role: 'master', socketPath, logger, rxMode: 'polling' });
    const slave = await Memif.create({ role: 'slave', socketPath, logger, rxMode: 'polling' });
    const rx = await (async () => {
      await Promise.all([master.waitForConnect({ timeoutMs: 10_000 }), slave.waitForConnect({ timeoutMs: 10_000 })]);
      return WorkerQueue.attach(slave.handOff('rx', 0));
    })();
    const tx = WorkerQueue.attach(slave.handOff('tx', 0));
    try {
      const params: Param[] = [
        { name: 'WorkerQueue.rxBurst(max)', call: (v) => rx.rxBurst(v as number), valid: ['undefined'] },
        {
          name: 'WorkerQueue.rxBurstZeroCopy(max)',
          call: (v) => rx.rxBurstZeroCopy(v as number),
          valid: ['undefined'],
        },
        { name: 'WorkerQueue.setRxMode(mode)', call: (v) => rx.setRxMode(v as 'polling') },
        { name: 'WorkerQueue.txBurst(packets)', call: (v) => tx.txBurst(v as Uint8Array[]), valid: ['[]'] },
        {
          name: 'WorkerQueue.txBurst(packets, count)',
          call: (v) => tx.txBurst([packet('x')], v as number),
          valid: ['undefined'],
        },
        { name: 'WorkerQueue.txAlloc(count)', call: (v) => tx.txAlloc(v as number), valid: ['undefined'] },
      ];
      let refused = 0;
      for (const p of params) {
        refused += await expectRefused(p);
        // A refused call left no burst open: the queue still works.
        if (p.name.startsWith('WorkerQueue.tx')) tx.txAlloc(1).abort();
        else rx.rxBurstZeroCopy(1).release();
      }
      assert.ok(refused >= 70, `${refused} refusals checked`);
      // Traffic through the worker queues, bytes compared.
      const up = [packet('worker up 1', 300), packet('worker up 2', 1500)];
      assert.equal(tx.txBurst(up), 2);
      const got: Buffer[] = [];
      await until(() => {
        got.push(...master.rxBurst(0));
        return got.length >= 2;
      });
      assert.deepEqual(got, up);
      const down = [packet('worker down', 700)];
      assert.equal(master.txBurst(0, down), 1);
      const back: Buffer[] = [];
      await until(() => {
        back.push(...rx.rxBurst());
        return back.length >= 1;
      });
      assert.deepEqual(back, down);
    } finally {
      rx.close();
      tx.close();
      await slave.close();
      await master.close();
    }
    await watch.assertAlive('WorkerQueue misuse');
    await bystander.check('after WorkerQueue misuse');
    await assertReleased(baseline, 'WorkerQueue misuse');
  });

  test('packet helpers', T, async () => {
    const watch = new LoopWatch();
    const mac = Buffer.from([2, 0, 0, 0, 0, 1]);
    const ip = Buffer.from([192, 0, 2, 1]);
    const req = pkt.buildArpRequest({ senderMac: mac, senderIp: ip, targetIp: Buffer.from([192, 0, 2, 2]) });
    const echo = {
      srcMac: mac,
      dstMac: mac,
      srcIp: ip,
      dstIp: ip,
      id: 1,
      seq: 1,
      payload: Buffer.from('x'),
    };
    const ping = pkt.buildIcmpEchoRequest(echo);
    const params: Param[] = [
      { name: 'parseMac(s)', call: (v) => pkt.parseMac(v as string) },
      { name: 'parseIPv4(s)', call: (v) => pkt.parseIPv4(v as string) },
      { name: 'formatMac(b)', call: (v) => pkt.formatMac(v as Uint8Array) },
      { name: 'formatMac(offset)', call: (v) => pkt.formatMac(mac, v as number), valid: ['undefined'] },
      { name: 'formatIPv4(b)', call: (v) => pkt.formatIPv4(v as Uint8Array) },
      { name: 'formatIPv4(offset)', call: (v) => pkt.formatIPv4(ip, v as number), valid: ['undefined'] },
      { name: 'internetChecksum(bytes)', call: (v) => pkt.internetChecksum(v as Uint8Array) },
      {
        name: 'internetChecksum(start)',
        call: (v) => pkt.internetChecksum(ping, v as number),
        valid: ['undefined', '-1'],
      },
      {
        name: 'internetChecksum(end)',
        call: (v) => pkt.internetChecksum(ping, 0, v as number),
        valid: ['undefined', '-1'],
      },
      { name: 'buildArpRequest(options)', call: (v) => pkt.buildArpRequest(v as pkt.ArpRequestOptions) },
      { name: 'buildArpReply(request)', call: (v) => pkt.buildArpReply(v as Uint8Array, mac) },
      { name: 'buildArpReply(myMac)', call: (v) => pkt.buildArpReply(req, v as Uint8Array) },
      { name: 'buildIcmpEchoRequest(options)', call: (v) => pkt.buildIcmpEchoRequest(v as typeof echo) },
      { name: 'buildIcmpEchoReply(myMac)', call: (v) => pkt.buildIcmpEchoReply(ping, v as Uint8Array) },
      { name: 'respond(config)', call: (v) => pkt.respond(req, v as pkt.ResponderConfig) },
      { name: 'respond({ mac })', call: (v) => pkt.respond(req, { mac: v as Uint8Array, ip }) },
      { name: 'respond({ ip })', call: (v) => pkt.respond(req, { mac, ip: v as Uint8Array }) },
    ];
    for (const key of ['senderMac', 'senderIp', 'targetIp'] as const) {
      params.push({
        name: `buildArpRequest({ ${key} })`,
        call: (v) => pkt.buildArpRequest({ senderMac: mac, senderIp: ip, targetIp: ip, [key]: v }),
      });
    }
    for (const key of ['srcMac', 'dstMac', 'srcIp', 'dstIp', 'id', 'seq', 'payload'] as const) {
      params.push({
        name: `buildIcmpEchoRequest({ ${key} })`,
        call: (v) => pkt.buildIcmpEchoRequest({ ...echo, [key]: v }),
        valid: key === 'payload' ? ['undefined'] : [],
      });
    }
    let refused = 0;
    for (const p of params) refused += await expectRefused(p);
    assertCount(refused, 250);
    // The parsers take untrusted frames: anything that is not one is `undefined`, never a throw.
    for (const bad of BAD) {
      assert.equal(pkt.parseArp(bad.value as Uint8Array), undefined, `parseArp(${bad.label})`);
      assert.equal(pkt.parseIcmpEcho(bad.value as Uint8Array), undefined, `parseIcmpEcho(${bad.label})`);
      assert.equal(pkt.buildIcmpEchoReply(bad.value as Uint8Array, mac), undefined, `buildIcmpEchoReply(${bad.label})`);
      assert.equal(pkt.respond(bad.value as Uint8Array, { mac, ip }), undefined, `respond(${bad.label})`);
    }
    await watch.assertAlive('packet helper misuse');
    await bystander.check('after packet helper misuse');
  });
});

test('describe(): any value, never a throw, never user code', () => {
  let ran = 0;
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const sneaky = {
    get x() {
      ran++;
      return 1;
    },
    toString() {
      ran++;
      throw new UserError('toString');
    },
    [Symbol.for('nodejs.util.inspect.custom')]() {
      ran++;
      throw new UserError('inspect');
    },
  };
  const values = [...BAD.map((b) => b.value), cyclic, sneaky, Object.create(null), 'x'.repeat(500), -0, () => 1];
  for (const v of values) {
    const d = describeValue(v);
    assert.equal(typeof d, 'string');
    assert.ok(d.length > 0 && d.length <= 80, d);
  }
  assert.equal(describeValue(1n), '1n');
  assert.equal(describeValue('0'), '"0"');
  assert.equal(ran, 0, 'no getter, toString or inspect method of the value ran');
});

/** The table really ran: at least `min` refusals were checked. */
function assertCount(n: number, min: number): void {
  assert.ok(n >= min, `${n} refusals checked (expected at least ${min})`);
}
