// A peer process that plays with file descriptions, as a hostile memif peer can: a python3 child
// that either makes an fd of some kind and passes it to us (SCM_RIGHTS over a socket of ours), or
// inherits one of ours; either way it then holds the same open file description as we do, and
// does what the test says: clear O_NONBLOCK, saturate an eventfd's counter, keep re-saturating it,
// or keep reading its count away.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { native } from '../../src/native.js';
import { type TempDir, tempDir } from './tmp.js';

/** Kinds of fd the toy can make. */
export type FdKind =
  | 'eventfd'
  | 'eventfd-semaphore'
  | 'pipe-write-orphan'
  | 'pipe-read-hungup'
  | 'pipe-full'
  | 'socket-listening'
  | 'socket-hungup'
  | 'dev-null';

/** What the toy can do to the fd it holds. */
export type Play = 'block' | 'saturate' | 'saturate-loop' | 'steal-loop' | 'stop-loop';

const script = String.raw`
import fcntl, os, socket, sys, threading
kind, path = sys.argv[1], sys.argv[2]
keep = []
def make(kind):
    if kind == 'inherit':
        return 3
    if kind == 'eventfd':
        return os.eventfd(0, os.EFD_NONBLOCK)
    if kind == 'eventfd-semaphore':
        return os.eventfd(0, os.EFD_NONBLOCK | os.EFD_SEMAPHORE)
    if kind == 'pipe-write-orphan':
        r, w = os.pipe(); os.close(r); return w
    if kind == 'pipe-read-hungup':
        r, w = os.pipe(); os.close(w); return r
    if kind == 'pipe-full':
        r, w = os.pipe(); keep.append(r); os.set_blocking(w, False)
        try:
            while True: os.write(w, b'x' * 65536)
        except BlockingIOError:
            pass
        os.set_blocking(w, True); return w
    if kind == 'socket-listening':
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind('\0memif-toy-%d' % os.getpid()); s.listen(1)
        keep.append(s); return s.fileno()
    if kind == 'socket-hungup':
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET); b.close(); keep.append(a); return a.fileno()
    if kind == 'dev-null':
        return os.open('/dev/null', os.O_RDWR)
fd = make(kind)
if kind != 'inherit':
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); c.connect(path)
    socket.send_fds(c, [b'fd'], [fd]); c.close()
loop = {'on': False}
def saturate_loop():
    while loop['on']:
        try: os.write(fd, (2**64 - 2).to_bytes(8, 'little'))
        except OSError: pass
def steal_loop():
    while loop['on']:
        try: os.read(fd, 8)
        except OSError: pass
print('ready', flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == 'block':
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    elif cmd == 'saturate':
        os.write(fd, (2**64 - 2).to_bytes(8, 'little'))
    elif cmd in ('saturate-loop', 'steal-loop'):
        if cmd == 'saturate-loop':
            os.write(fd, (2**64 - 2).to_bytes(8, 'little'))  # saturated before we answer
        loop['on'] = True
        threading.Thread(target=saturate_loop if cmd == 'saturate-loop' else steal_loop, daemon=True).start()
    elif cmd == 'stop-loop':
        loop['on'] = False
    print('ok', flush=True)
`;

export class FdToy {
  readonly #proc: ChildProcess;
  readonly #lines: Interface;
  readonly #exited: Promise<unknown>;

  private constructor(proc: ChildProcess) {
    this.#proc = proc;
    this.#lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    this.#exited = once(proc, 'exit');
  }

  async #line(): Promise<string> {
    const [line] = (await once(this.#lines, 'line')) as [string];
    return line;
  }

  /** A toy that makes an fd of `kind`; resolves with the toy and our copy of the fd. */
  static async make(kind: FdKind): Promise<{ toy: FdToy; fd: number }> {
    const b = native();
    const tmp: TempDir = tempDir('memif-fd-toy-');
    const path = tmp.socket('toy.sock');
    const listener = b.listen(path, false, 1, 0);
    try {
      const toy = new FdToy(spawn('python3', ['-c', script, kind, path], { stdio: ['pipe', 'pipe', 'inherit'] }));
      const ready = toy.#line();
      // Accept and receive with a bounded number of short waits (the test's timeout bounds it too).
      let conn = -1;
      for (let i = 0; i < 500 && conn < 0; i++) {
        conn = b.accept(listener);
        if (conn < 0) await new Promise((r) => setTimeout(r, 10));
      }
      if (conn < 0) throw new Error('fd toy never connected');
      const meta = new Int32Array(3);
      const into = Buffer.alloc(16);
      let n = -1;
      for (let i = 0; i < 500 && n < 0; i++) {
        n = b.recv(conn, into, meta);
        if (n < 0) await new Promise((r) => setTimeout(r, 10));
      }
      b.close(conn);
      if (meta[0] < 0) throw new Error('fd toy sent no fd');
      await ready;
      return { toy, fd: meta[0] };
    } finally {
      b.close(listener);
      tmp.remove();
    }
  }

  /** A toy holding the open file description of our `fd` (inherited, so it is the same one). */
  static async on(fd: number): Promise<FdToy> {
    const toy = new FdToy(spawn('python3', ['-c', script, 'inherit', '-'], { stdio: ['pipe', 'pipe', 'inherit', fd] }));
    await toy.#line();
    return toy;
  }

  /** Does `play` to the fd and waits until it is done (a loop is started, not finished). */
  async play(play: Play): Promise<void> {
    const ok = this.#line();
    this.#proc.stdin?.write(`${play}\n`);
    await ok;
  }

  /** Ends the toy (its copies of the fd go with it). */
  async stop(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
    await this.#exited;
    this.#lines.close();
  }
}
