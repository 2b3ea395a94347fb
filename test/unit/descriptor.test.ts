// The descriptor's named fields against spec §7.4 (byte offsets and its worked example), and the
// bounds gate at its edges: the last byte of a region, one past it, a missing region, u32 extremes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DESC_SIZE } from '../../src/constants.js';
import { Desc16, Desc32, fitsInRegion, inRegions } from '../../src/shm/descriptor.js';
import type { Region } from '../../src/shm/region.js';

describe('descriptor (§7.4)', () => {
  test('fields sit at bytes 0, 2, 4, 8, 12 of a 16-byte descriptor', () => {
    assert.equal(Desc16.STRIDE * 2, DESC_SIZE);
    assert.equal(Desc32.STRIDE * 4, DESC_SIZE);
    assert.equal(Desc16.FLAGS * 2, 0);
    assert.equal(Desc16.REGION * 2, 2);
    assert.equal(Desc32.LENGTH * 4, 4);
    assert.equal(Desc32.OFFSET * 4, 8);
    assert.equal(Desc32.METADATA * 4, 12);
  });

  test('worked example: a 1500-byte chained fragment in region 0 at offset 33024, as descriptor 1', () => {
    const buf = new ArrayBuffer(2 * DESC_SIZE);
    const u16 = new Uint16Array(buf);
    const u32 = new Uint32Array(buf);
    const d16 = 1 * Desc16.STRIDE;
    const d32 = 1 * Desc32.STRIDE;
    u16[d16 + Desc16.FLAGS] = 1;
    u16[d16 + Desc16.REGION] = 0;
    u32[d32 + Desc32.LENGTH] = 1500;
    u32[d32 + Desc32.OFFSET] = 33024;
    u32[d32 + Desc32.METADATA] = 0;
    assert.equal(
      Buffer.from(buf, DESC_SIZE).toString('hex'),
      ['0100', '0000', 'dc050000', '00810000', '00000000'].join(''),
    );
    assert.ok(
      new Uint8Array(buf, 0, DESC_SIZE).every((b) => b === 0),
      'descriptor 0 untouched',
    );
  });
});

describe('bounds gate', () => {
  const region = (index: number, size: number) => ({ index, size }) as Region;
  const regions = [region(0, 4096), region(1, 1 << 20)];

  test('inside, up to the last byte', () => {
    assert.ok(inRegions(regions, 0, 0, 4096));
    assert.ok(inRegions(regions, 0, 4095, 1));
    assert.ok(inRegions(regions, 1, (1 << 20) - 64, 64));
    assert.ok(inRegions(regions, 0, 4096, 0), 'an empty buffer at the very end touches nothing');
  });

  test('one byte past the end, or a region that does not exist', () => {
    assert.ok(!inRegions(regions, 0, 4096, 1));
    assert.ok(!inRegions(regions, 0, 1, 4096));
    assert.ok(!inRegions(regions, 2, 0, 1));
    assert.ok(!inRegions(regions, 0xffff, 0, 1));
    assert.ok(!inRegions([], 0, 0, 0));
  });

  test('u32 extremes do not wrap', () => {
    assert.ok(!inRegions(regions, 0, 0xffffffff, 1));
    assert.ok(!inRegions(regions, 0, 1, 0xffffffff));
    assert.ok(!inRegions(regions, 0, 0xffffffff, 0xffffffff));
    const huge = [region(0, 2 ** 33)];
    assert.ok(inRegions(huge, 0, 0xffffffff, 0xffffffff), 'the sum is exact above 2^32');
    assert.ok(fitsInRegion(huge[0], 0xffffffff, 0xffffffff));
  });
});
