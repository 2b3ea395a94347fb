// Shared by the capture and replay tests: distinct test frames, and the frames tshark reads from a file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

/** Frames of 60 to 4000 bytes (over two 2048-byte buffers), each different, ethertype 0x88b5. */
export function testFrames(n: number, seed: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const len = 60 + ((i * 397 + seed) % 3941);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = (i * 31 + j * 7 + seed) & 0xff;
    b.writeUInt16BE(0x88b5, 12);
    return b;
  });
}

/** Every frame tshark reads from `args` (a file, or '-' with `input`), as raw bytes. */
export function tsharkFrames(args: string[], input?: Buffer): Buffer[] {
  const out = execFileSync('tshark', [...args, '-T', 'ek', '-x'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'ignore'],
    ...(input ? { input } : {}),
  });
  const frames: Buffer[] = [];
  for (const line of out.split('\n')) {
    if (!line.includes('"layers"')) continue;
    const p = JSON.parse(line) as { layers: { frame_raw: string; frame: Record<string, string> } };
    const b = Buffer.from(p.layers.frame_raw, 'hex');
    assert.equal(p.layers.frame.frame_frame_len, String(b.length), 'frame.len equals the bytes tshark read');
    assert.equal(p.layers.frame.frame_frame_cap_len, String(b.length), 'captured whole');
    frames.push(b);
  }
  return frames;
}
