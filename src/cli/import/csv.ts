/**
 * One CSV record per line (RFC 4180 quoting; a field cannot span lines,
 * which a URL never needs).
 */

/** The fields of a line, or a string saying why it is not CSV. */
export function parseCsvLine(line: string): string[] | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const close = line.indexOf('"', i);
        if (close === -1) return `a quoted field has no closing quote (column ${fields.length + 1})`;
        value += line.slice(i, close);
        if (line[close + 1] === '"') {
          value += '"';
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ",") return `a quoted field must be followed by a comma (column ${fields.length})`;
      i++;
    } else {
      const comma = line.indexOf(",", i);
      if (comma === -1) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}
