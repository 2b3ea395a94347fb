// Network namespaces for tests: made with `ip netns add`, deleted in the test's after(); a node
// child started inside one with `ip netns exec`. No traffic leaves a namespace a test makes.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Why namespaces cannot be used here (the skip message), or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add; setns needs CAP_SYS_ADMIN)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return "needs iproute2's ip (apt-get install iproute2)";
  }
  const probe = addNetns();
  deleteNetns(probe);
  return undefined;
}

/** Why TAP devices cannot be used here, or undefined. */
export function tapUnavailable(): string | undefined {
  return existsSync('/dev/net/tun') ? netnsUnavailable() : 'needs /dev/net/tun (modprobe tun)';
}

/** Creates a namespace memif-ts-test-<random> with its loopback up; returns its name. */
export function addNetns(): string {
  const name = `memif-ts-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function deleteNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // gone already
  }
}

/** Runs `args` inside namespace `ns` (ip netns exec); stdout is piped. */
export function spawnInNetns(ns: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves with the first stdout line of `child` that matches `re`; rejects if it exits first. */
export function waitForLine(child: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (re.test(line)) {
          child.stdout?.off('data', onData);
          resolve(line);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before ${re}: ${out}${err}`)));
  });
}
