/**
 * nginx's configuration tokenizer (ngx_conf_read_token), for reading a
 * configuration nginx will read: the agent's look at a system nginx's main
 * configuration, and the tests' check of what the compiler writes.
 */

export interface NginxStatement {
  name: string;
  args: string[];
  /** Nesting depth: 0 for the main context. */
  depth: number;
  /** Opens a block (ends with `{`). */
  block: boolean;
  /** Names of the enclosing blocks, outermost first: ["http", "server"]. */
  context: string[];
  /** Offset of the statement's first character. */
  start: number;
  /** Offset just past its `;` or `{`. */
  end: number;
}

export interface NginxReadOptions {
  /**
   * Also refuse what nginx reads but the compiler never writes: a quote
   * inside an unquoted word, `{` or `}` inside one (nginx takes `${name}`
   * and a `}` that touches a word as part of the word).
   */
  strict?: boolean;
}

/** What nginx unescapes in a word, quoted or not; any other `\x` stays as written. */
const escapes: Readonly<Record<string, string>> = {
  '"': '"',
  "'": "'",
  "\\": "\\",
  t: "\t",
  r: "\r",
  n: "\n",
};

/**
 * Statements in source order: words split by whitespace, `;`, `{`, `}`;
 * quoted words; backslash escapes; `#` comments at a word's start. Throws an
 * Error on what nginx refuses to read (unbalanced braces, an unterminated
 * quote or statement, a quote not followed by a separator).
 */
export function readNginxConf(text: string, options: NginxReadOptions = {}): NginxStatement[] {
  const strict = options.strict === true;
  const out: NginxStatement[] = [];
  const context: string[] = [];
  let words: string[] = [];
  let start = 0;
  let i = 0;
  const end = (block: boolean) => {
    const [name, ...args] = words;
    if (name === undefined) throw new Error(`empty statement at ${i}`);
    out.push({
      name,
      args,
      depth: context.length,
      block,
      context: [...context],
      start,
      end: i + 1,
    });
    if (block) context.push(name);
    words = [];
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i += 1;
    } else if (c === ";") {
      end(false);
      i += 1;
    } else if (c === "{") {
      end(true);
      i += 1;
    } else if (c === "}") {
      if (words.length > 0) throw new Error(`unexpected "}" at ${i}`);
      if (context.pop() === undefined) throw new Error(`unbalanced "}" at ${i}`);
      i += 1;
    } else {
      if (words.length === 0) start = i;
      let word = "";
      const quote = c === '"' || c === "'" ? c : undefined;
      if (quote) i += 1;
      for (;;) {
        if (i >= text.length) throw new Error("unexpected end of file");
        const d = text[i] as string;
        if (d === "\\") {
          const e = text[i + 1] ?? "";
          word += escapes[e] ?? `\\${e}`;
          i += 2;
          continue;
        }
        if (quote) {
          if (d === quote) break;
        } else if (/[\s;]/.test(d)) {
          break;
        } else if (d === "{" || d === "}") {
          // nginx: `{` right after `$` continues a word (`${name}`), a `}` inside one is literal.
          if (strict || (d === "{" && text[i - 1] !== "$")) break;
        } else if (strict && (d === '"' || d === "'")) {
          throw new Error(`unexpected quote at ${i}`);
        }
        word += d;
        i += 1;
      }
      if (quote) {
        i += 1;
        if (!/[\s;{)]/.test(text[i] ?? ""))
          throw new Error(`unexpected "${text[i]}" after a quote`);
      }
      words.push(word);
    }
  }
  if (context.length !== 0 || words.length > 0) throw new Error("unexpected end of file");
  return out;
}

/** The 1-based line of an offset in the text (statements carry offsets). */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}
