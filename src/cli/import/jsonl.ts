/**
 * The raw text of a top-level member of a JSON object: JSON.parse turns
 * 9007199254740993 into 9007199254740992, so ids are read from their text.
 */

/** The source text of the value of key in the JSON object text (already validated by JSON.parse), or undefined. */
export function rawMember(json: string, key: string): string | undefined {
  let i = skipSpace(json, 0);
  if (json[i] !== "{") return undefined;
  i++;
  let found: string | undefined;
  for (;;) {
    i = skipSpace(json, i);
    if (json[i] === "}") return found;
    const keyEnd = skipString(json, i);
    const name = JSON.parse(json.slice(i, keyEnd)) as string;
    i = skipSpace(json, keyEnd);
    i = skipSpace(json, i + 1); // past ":"
    const valueEnd = skipValue(json, i);
    // The last of duplicate keys wins, as in JSON.parse.
    if (name === key) found = json.slice(i, valueEnd);
    i = skipSpace(json, valueEnd);
    if (json[i] === ",") i++;
    else return found;
  }
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r")) i++;
  return i;
}

/** From an opening quote to just past its closing quote. */
function skipString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === '"') return j + 1;
  }
  return s.length;
}

function skipValue(s: string, i: number): number {
  if (s[i] === '"') return skipString(s, i);
  if (s[i] === "{" || s[i] === "[") {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const c = s[j];
      if (c === '"') j = skipString(s, j) - 1;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return s.length;
  }
  let j = i;
  while (j < s.length && !",}] \t\r\n".includes(s[j] ?? "")) j++;
  return j;
}
