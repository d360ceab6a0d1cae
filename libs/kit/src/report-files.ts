import { PassThrough, pipeline, Readable } from 'node:stream';
import type { ReportFormat } from '@allot/contracts';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';

/** One row of a report: a value per column (null is an empty cell). */
export type ReportRow = Record<string, string | number | boolean | null | undefined>;

/**
 * A report's file as a stream of bytes, written row by row as `rows` yields them: nothing holds
 * more than a few rows, whatever the file's size. CSV is written by csv-stringify (quotes,
 * separators and line breaks inside values), XLSX by exceljs's streaming workbook writer (each
 * row committed as it is added), NDJSON one JSON object a line.
 */
export function reportFile(format: ReportFormat, columns: readonly string[], rows: AsyncIterable<ReportRow>): Readable {
  switch (format) {
    case 'csv':
      // pipeline, not pipe: a failing row source must fail the file, not leave it waiting for more.
      return pipeline(
        Readable.from(rows),
        stringify({ header: true, columns: [...columns], cast: { boolean: (v) => String(v) }, record_delimiter: 'unix' }),
        () => {},
      );
    case 'ndjson':
      return Readable.from(ndjsonLines(columns, rows));
    case 'xlsx':
      return xlsxFile(columns, rows);
  }
}

async function* ndjsonLines(columns: readonly string[], rows: AsyncIterable<ReportRow>): AsyncGenerator<string> {
  for await (const row of rows) {
    const ordered: Record<string, unknown> = {};
    for (const column of columns) ordered[column] = row[column] ?? null;
    yield `${JSON.stringify(ordered)}\n`;
  }
}

/** Bytes the zip may hold unread before the writer waits for the reader (the streaming writer does not wait by itself). */
const XLSX_AHEAD_BYTES = 1024 * 1024;

function xlsxFile(columns: readonly string[], rows: AsyncIterable<ReportRow>): Readable {
  const out = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
  const sheet = workbook.addWorksheet('Report');
  const write = async () => {
    sheet.addRow([...columns]).commit();
    let n = 0;
    for await (const row of rows) {
      sheet.addRow(columns.map((c) => row[c] ?? null)).commit();
      // Let the zip and the reader catch up now and then, so unread bytes stay bounded.
      if (++n % 200 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        while (out.readableLength > XLSX_AHEAD_BYTES && !out.destroyed) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    sheet.commit();
    await workbook.commit();
  };
  write().catch((error) => out.destroy(error as Error));
  return out;
}

/**
 * Reads a stream in chunks of exactly `size` bytes (the last one shorter), handing each to
 * `sink` before reading on: the stream waits while a chunk is stored.
 */
export async function inChunks(stream: Readable, size: number, sink: (chunk: Buffer, seq: number) => Promise<void>): Promise<number> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let seq = 0;
  let total = 0;
  for await (const piece of stream) {
    const buf = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
    pending.push(buf);
    pendingBytes += buf.length;
    total += buf.length;
    while (pendingBytes >= size) {
      const all = Buffer.concat(pending);
      await sink(all.subarray(0, size), seq++);
      const rest = all.subarray(size);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
    }
  }
  if (pendingBytes > 0 || seq === 0) await sink(Buffer.concat(pending), seq++);
  return total;
}
