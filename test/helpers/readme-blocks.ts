// The README's runnable examples: fenced blocks preceded by an `<!-- readme-run -->` comment, in
// order. They form one shell session: host commands, then `ip netns exec NS bash` opens a shell in
// the examples' network namespace, the commands up to `exit` run in it, and the rest runs on the
// host again. A test runs them as written, only with its own namespace name and directory.

export const RUN_MARKER = '<!-- readme-run -->';

/** The code of every fenced block that follows a RUN_MARKER line (blank lines between allowed). */
export function runnableBlocks(md: string): string[] {
  const re = /^<!-- readme-run -->\n(?:[ \t]*\n)*```[^\n]*\n([\s\S]*?)^```/gm;
  return [...md.matchAll(re)].map((m) => m[1]!);
}

export interface NamespaceSession {
  /** The namespace the examples use (the word after `ip netns exec`). */
  netns: string;
  /** Host commands before the shell in the namespace. */
  before: string;
  /** Commands typed into the namespace's shell. */
  inside: string;
  /** Host commands after `exit`. */
  after: string;
}

const ENTER = /^ip netns exec (\S+) bash(?:\s+#.*)?$/;
const LEAVE = /^exit(?:\s+#.*)?$/;

/** Splits the blocks' lines at the one line entering the namespace's shell and the one leaving it. */
export function namespaceSession(blocks: readonly string[]): NamespaceSession {
  const lines = blocks.join('').split('\n');
  const enter = lines.map((l, i) => (ENTER.test(l) ? i : -1)).filter((i) => i >= 0);
  const leave = lines.map((l, i) => (LEAVE.test(l) ? i : -1)).filter((i) => i >= 0);
  if (enter.length !== 1 || leave.length !== 1 || leave[0]! < enter[0]!)
    throw new Error(
      `the runnable blocks need exactly one "ip netns exec NS bash" line and one later "exit" line ` +
        `(found ${enter.length} and ${leave.length})`,
    );
  const [e, l] = [enter[0]!, leave[0]!];
  return {
    netns: ENTER.exec(lines[e]!)![1]!,
    before: lines.slice(0, e).join('\n'),
    inside: lines.slice(e + 1, l).join('\n'),
    after: lines.slice(l + 1).join('\n'),
  };
}

/** Replaces the examples' directory and namespace name (a whole word) by a test's own. */
export function relocate(
  text: string,
  from: { dir: string; netns: string },
  to: { dir: string; netns: string },
): string {
  const word = new RegExp(`(?<![\\w-])${from.netns}(?![\\w-])`, 'g');
  return text.replaceAll(from.dir, to.dir).replace(word, to.netns);
}
