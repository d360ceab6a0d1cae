import { describe, expect, it } from 'vitest';
import { rowsOf, UnreadableFile } from '../src/import-files';

/** The text as chunks cut at `size` bytes, wherever that falls (inside a quoted field, a line end, a character). */
async function* chunksOf(text: string, size: number) {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function all(text: string, format: 'csv' | 'ndjson', size = 5) {
  const rows = [];
  for await (const row of rowsOf(chunksOf(text, size), format)) rows.push(row);
  return rows;
}

describe('import files', () => {
  it('import files - CSV: a BOM, quoted commas, quotes and line breaks, blank lines; each row named by the line it starts on', async () => {
    const text = '\uFEFFid,note\n1,"a, b"\n\n2,"two\nlines"\n3,"say ""hi"""\n4\n';
    expect(await all(text, 'csv')).toEqual([
      { line: 2, cells: { id: '1', note: 'a, b' } },
      { line: 4, cells: { id: '2', note: 'two\nlines' } },
      { line: 6, cells: { id: '3', note: 'say "hi"' } },
      { line: 7, cells: { id: '4' } },
    ]);
  });

  it('import files - CSV with CRLF line ends and multi-byte characters split across chunks', async () => {
    const text = 'id,name\r\n1,Zürich café\r\n2,"Łódź, PL"\r\n';
    expect((await all(text, 'csv', 3)).map((r) => r.cells)).toEqual([
      { id: '1', name: 'Zürich café' },
      { id: '2', name: 'Łódź, PL' },
    ]);
  });

  it('import files - an unclosed quote makes the file unreadable', async () => {
    await expect(all('id,name\n1,"open\n', 'csv')).rejects.toBeInstanceOf(UnreadableFile);
  });

  it('import files - NDJSON: one object a line; a line that is not an object is a row with its problem', async () => {
    const rows = await all('{"a":1}\n\nnope\n[1]\n{"a":2}\n', 'ndjson');
    expect(rows).toEqual([
      { line: 1, cells: { a: 1 } },
      { line: 3, cells: null, problem: 'not a JSON value' },
      { line: 4, cells: null, problem: 'not a JSON object' },
      { line: 5, cells: { a: 2 } },
    ]);
  });
});
