// memif replay as a real process: a file captured by `memif capture` is replayed into a master
// here, which receives the very frames first sent (byte for byte, in order, chained ones too);
// --rate with --loop 2 sends the file twice; bad usage exits 2 with a one-line reason.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { captureHeader, recordSize, writeRecord } from '../../src/cli/pcap.js';
import { Memif } from '../../src/index.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';
import { receive } from '../helpers/traffic.js';
import { testFrames } from './capture-kit.js';
import { runCli, startCli } from './cli.js';

const T = { timeout: 40_000 };

async function sendAll(m: Memif, frames: Buffer[]): Promise<void> {
  await m.waitForConnect({ timeoutMs: 15_000 });
  let i = 0;
  while (i < frames.length) {
    i += m.txBurst(0, frames.slice(i, i + 64));
    await new Promise((r) => setImmediate(r));
  }
}

describe('memif replay', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir('memif-replay-');
  });
  after(() => tmp.remove());

  test('a captured file replayed reproduces the frames byte for byte at the other end', T, async () => {
    const file = join(tmp.dir, 'cap.pcapng');
    const frames = testFrames(250, 3);
    // 1. capture what a master sends
    const src = await Memif.create({ role: 'master', socketPath: tmp.socket('src.sock') });
    try {
      const cap = startCli(['capture', '--socket', tmp.socket('src.sock'), '-w', file, '-c', '250']);
      await sendAll(src, frames);
      const exit = await cap.exited;
      assert.equal(exit.code, 0, exit.stderr);
    } finally {
      await src.close();
    }
    // 2. replay it (recorded timing) into another master
    const dst = await Memif.create({ role: 'master', socketPath: tmp.socket('dst.sock') });
    try {
      const rep = startCli(['replay', file, '--socket', tmp.socket('dst.sock')]);
      await dst.waitForConnect({ timeoutMs: 15_000 });
      const got = await receive(dst, 0, frames.length);
      const exit = await rep.exited;
      assert.equal(exit.code, 0, exit.stderr);
      assert.match(exit.stdout, /replay: 250 frames .* 1 pass,/);
      assert.equal(got.length, frames.length);
      for (let i = 0; i < frames.length; i++) assert.deepEqual(got[i], frames[i], `frame ${i}`);
    } finally {
      await dst.close();
    }
  });

  test('--rate with --loop 2 (pcap file): the frames twice, in order', T, async () => {
    const file = join(tmp.dir, 'small.pcap');
    const frames = testFrames(20, 11);
    const parts = [captureHeader('pcap', 65535)];
    for (const [i, f] of frames.entries()) {
      const b = Buffer.alloc(recordSize('pcap', f.length, 65535));
      writeRecord('pcap', b, 0, f, 1_000_000_000n * BigInt(i), 65535); // 1 s apart: --rate overrides
      parts.push(b);
    }
    writeFileSync(file, Buffer.concat(parts));
    const dst = await Memif.create({ role: 'master', socketPath: tmp.socket('rate.sock') });
    try {
      const rep = startCli(['replay', file, '--socket', tmp.socket('rate.sock'), '--rate', '2000', '--loop', '2']);
      await dst.waitForConnect({ timeoutMs: 15_000 });
      const got = await receive(dst, 0, 40);
      const exit = await rep.exited;
      assert.equal(exit.code, 0, exit.stderr);
      assert.match(exit.stdout, /replay: 40 frames .* 2 passes/);
      assert.deepEqual(got, [...frames, ...frames]);
    } finally {
      await dst.close();
    }
  });

  test(
    'records no memif carries (0 bytes, more than the ring holds) are skipped and counted; the rest arrive',
    T,
    async () => {
      const file = join(tmp.dir, 'odd.pcap');
      const frames = testFrames(6, 17);
      // Ring 2^4 of 2,048-byte buffers: at most 32,768 bytes a frame.
      const records = [
        frames[0],
        Buffer.alloc(0),
        frames[1],
        frames[2],
        Buffer.alloc(40_000, 7),
        frames[3],
        frames[4],
        frames[5],
      ];
      const parts = [captureHeader('pcap', 65535)];
      for (const [i, f] of records.entries()) {
        const b = Buffer.alloc(recordSize('pcap', (f as Buffer).length, 65535));
        writeRecord('pcap', b, 0, f as Buffer, 1_000_000n * BigInt(i), 65535);
        parts.push(b);
      }
      writeFileSync(file, Buffer.concat(parts));
      const dst = await Memif.create({ role: 'master', socketPath: tmp.socket('odd.sock') });
      try {
        const rep = startCli(['replay', file, '--socket', tmp.socket('odd.sock'), '--ring', '4', '--topspeed']);
        await dst.waitForConnect({ timeoutMs: 15_000 });
        const got = await receive(dst, 0, frames.length);
        const exit = await rep.exited;
        assert.equal(exit.code, 0, exit.stderr);
        assert.match(exit.stdout, /replay: 6 frames .*, 2 skipped \(0 bytes, or larger than the ring holds\), 1 pass,/);
        assert.match(exit.stderr, /record 2 \(0 bytes\) skipped: a frame must be 1 to 32768 bytes here/);
        assert.deepEqual(got, frames);
      } finally {
        await dst.close();
      }
    },
  );

  test('--loop 0 over a file whose every record is skipped: SIGINT still ends it, with its summary', T, async () => {
    const file = join(tmp.dir, 'none-fits.pcap');
    // Ring 2^4 of 2,048-byte buffers: at most 32,768 bytes a frame; this file has nothing smaller.
    const big = Buffer.alloc(40_000, 9);
    const rec = Buffer.alloc(recordSize('pcap', big.length, 65535));
    writeRecord('pcap', rec, 0, big, 0n, 65535);
    writeFileSync(file, Buffer.concat([captureHeader('pcap', 65535), rec]));
    const dst = await Memif.create({ role: 'master', socketPath: tmp.socket('none.sock') });
    try {
      const rep = startCli([
        'replay',
        file,
        '--socket',
        tmp.socket('none.sock'),
        '--ring',
        '4',
        '--topspeed',
        '--loop',
        '0',
      ]);
      await rep.waitFor(/record 1 \(40000 bytes\) skipped/);
      const exit = await rep.stop('SIGINT', 10_000);
      assert.equal(exit.signal, null, `exited by itself on SIGINT, not killed: ${exit.stderr}`);
      assert.equal(exit.code, 0, exit.stderr);
      assert.match(
        exit.stdout,
        /replay: 0 frames \(0 bytes\) sent from .*, \d+ skipped \(0 bytes, or larger than the ring holds\), \d+ pass(es)?,/,
      );
    } finally {
      await dst.close();
    }
  });

  test('bad usage: exit status 2 and a one-line reason', T, async () => {
    const junk = join(tmp.dir, 'junk.pcap');
    writeFileSync(junk, 'not a capture at all');
    const ok = join(tmp.dir, 'ok.pcap');
    writeFileSync(ok, captureHeader('pcap', 100));
    const cases: [string[], RegExp][] = [
      [['replay'], /missing FILE/],
      [['replay', join(tmp.dir, 'none.pcap')], /none\.pcap: .*no such file/i],
      [['replay', junk], /not a readable pcap or pcapng file/],
      [['replay', ok, '--rate', '0'], /--rate must be/],
      [['replay', ok, '--rate', '10', '--topspeed'], /cannot be used together/],
      [['replay', ok, '--loop', '-1'], /--loop/],
      [['replay', ok, ok], /unexpected argument/],
    ];
    for (const [args, re] of cases) {
      const exit = await runCli(args, 10_000);
      assert.equal(exit.code, 2, `${args.join(' ')}: ${exit.stderr}`);
      assert.match(exit.stderr, re);
      assert.equal(exit.stderr.trim().split('\n').length, 1, exit.stderr);
    }
  });
});
