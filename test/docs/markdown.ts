// Fenced code blocks of a Markdown file and what their info strings ask of the docs test: pure
// text work, no I/O. The info string is the fence's language, then attributes readers do not see:
//   ```ts                        compiled and run on its own
//   ```ts peer=master queues=2   run with a memif-ts peer (echoing every packet back) on its socket
//   ```ts file=rx-worker.ts      a module the other blocks of the file import; compiled with them
//   ```ts no-run: <reason>       neither compiled nor run (a shape, a fragment); the reason is required

/** Languages whose blocks are compiled and run. */
export const RUN_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);

export interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's language, lower case ('' when none). */
  lang: string;
  /** The block's text (without fences). */
  code: string;
  /** `peer=`: the role of the peer the test starts on the block's socket. */
  peer?: 'master' | 'slave';
  /** `queues=`: the peer's rx and tx queue count. */
  queues?: number;
  /** `file=`: the module name other blocks import it by. */
  file?: string;
  /** `no-run:`: why the block is neither compiled nor run. */
  noRun?: string;
  /** What is wrong with the info string, if anything. */
  problem?: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (open === null) continue;
    const fence = open[2];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) body.push(lines[j++]);
    blocks.push(parseInfo(i + 1, open[3].trim(), body.join('\n')));
    i = j;
  }
  return blocks;
}

function parseInfo(line: number, info: string, code: string): CodeBlock {
  const noRunAt = info.indexOf('no-run');
  const head = noRunAt >= 0 ? info.slice(0, noRunAt) : info;
  const [lang = '', ...attrs] = head.split(/\s+/).filter((w) => w !== '');
  const block: CodeBlock = { line, lang: lang.toLowerCase(), code };
  if (noRunAt >= 0) {
    const reason = info
      .slice(noRunAt + 'no-run'.length)
      .replace(/^:/, '')
      .trim();
    if (reason === '') block.problem = 'no-run needs a reason: ```ts no-run: why';
    block.noRun = reason;
  }
  for (const a of attrs) {
    const [key, value = ''] = a.split('=');
    if (key === 'peer' && (value === 'master' || value === 'slave')) block.peer = value;
    else if (key === 'queues' && /^[1-9][0-9]*$/.test(value)) block.queues = Number(value);
    else if (key === 'file' && /^[\w.-]+\.(ts|js|mjs)$/.test(value)) block.file = value;
    else block.problem = `unknown attribute ${JSON.stringify(a)} in the info string`;
  }
  return block;
}

/** A block in a language that is not run but holds code that looks like it should be. */
export function looksLikeCode(block: CodeBlock): boolean {
  return /from ['"]memif-ts['"]|Memif\.create\(|require\(['"]memif-ts['"]\)/.test(block.code);
}

/**
 * The socket paths a block uses (`socketPath: '…'`), each once, in order of appearance. The test
 * replaces them with temporary ones, so blocks that show /run/vpp/memif.sock run anywhere.
 */
export function socketPaths(code: string): string[] {
  const found: string[] = [];
  for (const m of code.matchAll(/socketPath:\s*(['"])([^'"]+)\1/g)) if (!found.includes(m[2])) found.push(m[2]);
  return found;
}
