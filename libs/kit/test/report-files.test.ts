import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { gzipped, inChunks, type ReportRow, reportFile } from '../src/report-files';

const columns = ['id', 'name', 'qty', 'note'] as const;

async function* rowsOf(rows: ReportRow[]): AsyncGenerator<ReportRow> {
  for (const row of rows) yield row;
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(typeof part === 'string' ? Buffer.from(part) : part);
  return Buffer.concat(parts);
}

const tricky: ReportRow[] = [
  { id: 'a', name: 'Tour, "morning"', qty: 3, note: 'line one\nline two' },
  { id: 'b', name: 'Ünïcødé ✓', qty: 0, note: null },
  { id: 'c', name: 'plain', qty: -2.5 },
];

describe('report files', () => {
  it('report files - CSV: a header row, then each row; commas, quotes and line breaks inside values read back whole', async () => {
    const bytes = await bytesOf(reportFile('csv', columns, rowsOf(tricky)));
    const text = bytes.toString('utf8');
    expect(text.split('\n')[0]).toBe('id,name,qty,note');
    expect(parse(bytes, { columns: true })).toEqual([
      { id: 'a', name: 'Tour, "morning"', qty: '3', note: 'line one\nline two' },
      { id: 'b', name: 'Ünïcødé ✓', qty: '0', note: '' },
      { id: 'c', name: 'plain', qty: '-2.5', note: '' },
    ]);
  });

  it('report files - CSV: a text that a spreadsheet would run as a formula is escaped; numbers are not', async () => {
    const risky: ReportRow[] = [
      { id: '@a', name: '=HYPERLINK("http://evil.example","x")', qty: -3, note: '+1' },
      { id: 'b', name: '-x', qty: 2, note: 'a=b' },
    ];
    const bytes = await bytesOf(reportFile('csv', columns, rowsOf(risky)));
    expect(parse(bytes, { columns: true })).toEqual([
      { id: "'@a", name: `'=HYPERLINK("http://evil.example","x")`, qty: '-3', note: "'+1" },
      { id: 'b', name: "'-x", qty: '2', note: 'a=b' },
    ]);
  });

  it('report files - NDJSON: one object a line, in column order, absent values as null', async () => {
    const text = (await bytesOf(reportFile('ndjson', columns, rowsOf(tricky)))).toString('utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { id: 'a', name: 'Tour, "morning"', qty: 3, note: 'line one\nline two' },
      { id: 'b', name: 'Ünïcødé ✓', qty: 0, note: null },
      { id: 'c', name: 'plain', qty: -2.5, note: null },
    ]);
    expect(Object.keys(JSON.parse(lines[2] as string))).toEqual([...columns]);
  });

  it('report files - XLSX: one sheet, the header row and the rows, numbers as numbers, read back by the same library', async () => {
    const many: ReportRow[] = Array.from({ length: 2500 }, (_, i) => ({
      id: `r${i}`,
      name: `row ${i}`,
      qty: i,
      note: i % 2 ? 'odd' : null,
    }));
    const bytes = await bytesOf(reportFile('xlsx', columns, rowsOf(many)));
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0];
    const rows: unknown[][] = [];
    sheet?.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows[0]).toEqual([...columns]);
    expect(rows).toHaveLength(2501);
    expect(rows[2500]).toEqual(['r2499', 'row 2499', 2499, 'odd']);
  });

  it('report files - a failing row source fails the file rather than ending it short', async () => {
    async function* broken(): AsyncGenerator<ReportRow> {
      yield { id: 'a', name: 'x', qty: 1 };
      throw new Error('cursor lost');
    }
    for (const format of ['csv', 'ndjson', 'xlsx'] as const) {
      await expect(bytesOf(reportFile(format, columns, broken())), format).rejects.toThrow('cursor lost');
    }
  });

  it('report files - gzipped: one gzip stream of the whole file, with the size of the file itself; a failing file fails it', async () => {
    const many: ReportRow[] = Array.from({ length: 5000 }, (_, i) => ({ id: `r${i}`, name: `row ${i}`, qty: i }));
    const plain = await bytesOf(reportFile('csv', columns, rowsOf(many)));
    const gzip = gzipped(reportFile('csv', columns, rowsOf(many)));
    const compressed = await bytesOf(gzip.stream);
    expect(gunzipSync(compressed).equals(plain)).toBe(true);
    expect(gzip.size()).toBe(plain.length);
    expect(compressed.length).toBeLessThan(plain.length / 3);
    async function* broken(): AsyncGenerator<ReportRow> {
      yield { id: 'a', name: 'x', qty: 1 };
      throw new Error('cursor lost');
    }
    await expect(bytesOf(gzipped(reportFile('ndjson', columns, broken())).stream)).rejects.toThrow('cursor lost');
  });

  it('report files - chunks of exactly the size asked, the last one shorter, in order, and the total', async () => {
    const source = Readable.from([Buffer.alloc(5, 1), Buffer.alloc(7, 2), Buffer.alloc(1, 3)]);
    const chunks: [number, number[]][] = [];
    const total = await inChunks(source, 4, async (chunk, seq) => void chunks.push([seq, [...chunk]]));
    expect(total).toBe(13);
    expect(chunks).toEqual([
      [0, [1, 1, 1, 1]],
      [1, [1, 2, 2, 2]],
      [2, [2, 2, 2, 2]],
      [3, [3]],
    ]);
    const empty: number[] = [];
    expect(await inChunks(Readable.from([]), 4, async (chunk) => void empty.push(chunk.length))).toBe(0);
    expect(empty).toEqual([0]); // an empty file is one empty chunk, so it can be downloaded
  });

  it('report files - the next chunk is filled while one is stored, stores never overlap, and a store that fails fails the file', async () => {
    let reachedThird: () => void = () => {};
    const third = new Promise<void>((resolve) => {
      reachedThird = resolve;
    });
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 4; i++) {
        if (i === 2) reachedThird();
        yield Buffer.alloc(4, i);
      }
    }
    let storing = 0;
    let most = 0;
    const stored: number[][] = [];
    const failing = inChunks(Readable.from(pieces()), 4, async (chunk, seq) => {
      most = Math.max(most, ++storing);
      // Were the stream read only after a store, the third piece would never come.
      if (seq === 0) await third;
      stored.push([...chunk]);
      storing--;
      if (seq === 1) throw new Error('database gone');
    });
    await expect(failing).rejects.toThrow('database gone');
    expect(most).toBe(1);
    expect(stored).toEqual([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ]);
  });
});
