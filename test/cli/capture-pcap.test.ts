// The capture file writer and reader (src/cli/pcap.ts): byte-exact against headers written out by
// hand from the pcap and pcapng specifications, read back in both byte orders, µs and ns, and
// tshark's own reading of what we write.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type CaptureFormat, captureHeader, readCapture, recordSize, writeRecord } from '../../src/cli/pcap.js';
import { InvalidArgumentError } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function file(format: CaptureFormat, frames: Buffer[], times: bigint[], snaplen: number): Buffer {
  const parts = [captureHeader(format, snaplen)];
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i] as Buffer;
    const b = Buffer.alloc(recordSize(format, frame.length, snaplen));
    assert.equal(writeRecord(format, b, 0, frame, times[i] as bigint, snaplen), b.length);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

const T0 = 1_764_000_000_123_456_789n; // ns since the epoch

describe('capture files', () => {
  const tmp = tempDir('memif-pcap-');
  after(() => tmp.remove());

  test('pcap: nanosecond header and record, byte for byte', () => {
    const b = file('pcap', [hex('0102030405')], [T0], 4);
    const expected = Buffer.concat([
      hex('4d3cb2a1 0200 0400 00000000 00000000 04000000 01000000'),
      // ts_sec, ts_nsec, incl_len (cut to the snaplen), orig_len: u32 in host (little-endian) order
      Buffer.from(new Uint32Array([1_764_000_000, 123_456_789, 4, 5]).buffer),
      hex('01020304'),
    ]);
    assert.deepEqual(b, expected);
  });

  test('pcapng: SHB, IDB with if_tsresol 9, EPB padded to 4, byte for byte', () => {
    const b = file('pcapng', [hex('0102030405')], [T0], 65535);
    const ticks = T0;
    const expected = Buffer.concat([
      hex('0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000'),
      hex('01000000 20000000 0100 0000 ffff0000 0900 0100 09000000 00000000 20000000'),
      hex('06000000 28000000 00000000'),
      Buffer.from(new Uint32Array([Number(ticks >> 32n), Number(ticks & 0xffffffffn), 5, 5]).buffer),
      hex('0102030405 000000 28000000'),
    ]);
    assert.deepEqual(b, expected);
  });

  test('what we write reads back: frames, lengths and times; snaplen cuts', () => {
    const frames = [Buffer.alloc(60, 1), Buffer.alloc(1514, 2), Buffer.alloc(9000, 3)];
    const times = [T0, T0 + 1n, T0 + 1_000_000_001n];
    for (const format of ['pcap', 'pcapng'] as const) {
      const r = readCapture(file(format, frames, times, 2000));
      assert.equal(r.format, format);
      assert.equal(r.linkType, 1);
      assert.deepEqual(
        r.records.map((x) => [x.timeNs, x.originalLength, x.data.length]),
        [
          [times[0], 60, 60],
          [times[1], 1514, 1514],
          [times[2], 9000, 2000],
        ],
      );
      assert.deepEqual(r.records[2]?.data, frames[2]?.subarray(0, 2000));
    }
  });

  test('reads microsecond pcap, big-endian pcap and big-endian pcapng with if_tsresol 6', () => {
    const us = Buffer.concat([
      hex('d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000'),
      Buffer.from(new Uint32Array([10, 7, 3, 3]).buffer),
      hex('aabbcc'),
    ]);
    assert.deepEqual(readCapture(us).records, [{ timeNs: 10_000_007_000n, data: hex('aabbcc'), originalLength: 3 }]);
    const be = hex(`a1b23c4d 0002 0004 00000000 00000000 0000ffff 00000001
                    0000000a 00000007 00000002 00000002 ddee`);
    assert.deepEqual(readCapture(be).records, [{ timeNs: 10_000_000_007n, data: hex('ddee'), originalLength: 2 }]);
    const ng = hex(`0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c
                    00000001 00000014 0001 0000 00000000 00000014
                    00000006 00000024 00000000 00000000 0000000b 00000004 00000004 01020304 00000024`);
    const r = readCapture(ng);
    assert.equal(r.linkType, 1);
    assert.deepEqual(r.records, [{ timeNs: 11_000n, data: hex('01020304'), originalLength: 4 }]);
  });

  test('malformed files are InvalidArgumentErrors', () => {
    for (const b of [hex(''), hex('00112233'), file('pcap', [hex('01')], [T0], 10).subarray(0, 30)]) {
      assert.throws(() => readCapture(b), InvalidArgumentError);
    }
    const ng = file('pcapng', [hex('0102')], [T0], 10);
    ng.writeUInt32LE(9999, 64); // EPB length past the end
    assert.throws(() => readCapture(ng), InvalidArgumentError);
  });

  test('tshark reads what we write: count, lengths, bytes and times', (t) => {
    try {
      execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    } catch {
      t.skip('tshark is not installed (apt-get install tshark)');
      return;
    }
    const frames = [Buffer.alloc(60, 0xab), Buffer.from('00112233445566778899aabb0800cafe', 'hex')];
    for (const format of ['pcap', 'pcapng'] as const) {
      const path = join(tmp.dir, `t.${format}`);
      writeFileSync(path, file(format, frames, [T0, T0 + 5n], 65535));
      const out = execFileSync(
        'tshark',
        ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.time_epoch', '-e', 'eth.dst'],
        {
          encoding: 'utf8',
        },
      );
      const lines = out
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      assert.deepEqual(
        lines.map((l) => [l[0], l[1]]),
        [
          ['60', '1764000000.123456789'],
          ['16', '1764000000.123456794'],
        ],
        format,
      );
      assert.equal(lines[1]?.[2], '00:11:22:33:44:55');
    }
  });
});
