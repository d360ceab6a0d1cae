import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ReportFormat } from '@allot/contracts';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';

/** One row of a report: a value per column (null is an empty cell). */
export type ReportRow = Record<string, string | number | boolean | null | undefined>;

/**
 * A report's file as a stream of bytes, written row by row as `rows` yields them: nothing holds
 * more than a few rows, whatever the file's size. CSV is written by csv-stringify (quotes,
 * separators and line breaks inside values, formulas escaped), XLSX by exceljs's streaming
 * workbook writer (each row committed as it is added), NDJSON one JSON object a line.
 */
export function reportFile(format: ReportFormat, columns: readonly string[], rows: AsyncIterable<ReportRow>): Readable {
  switch (format) {
    case 'csv':
      // pipeline, not pipe: a failing row source must fail the file, not leave it waiting for more.
      return pipeline(
        Readable.from(rows),
        stringify({
          header: true,
          columns: [...columns],
          cast: { boolean: (v) => String(v) },
          record_delimiter: 'unix',
          // A text starting with = + - @ (or a tab or CR) gets a leading ': a spreadsheet opening
          // the file shows it rather than running it (CSV formula injection: names and user ids
          // in a report come from users). Numbers, negative ones too, are written as they are.
          escape_formulas: true,
        }),
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

/** Whether a format's file is stored gzip-compressed: CSV and NDJSON are; XLSX is a zip already. */
export const storedGzipped = (format: ReportFormat): boolean => format !== 'xlsx';

/**
 * A fast level: measured on 100,000 booking rows, CSV went from 13.3 MB to 1.0 MB and NDJSON from
 * 26.8 MB to 1.3 MB, in about the time the rows took to be written (higher levels saved under 10%
 * more, and took longer).
 */
const GZIP_LEVEL = 2;

/**
 * Bytes handed to zlib at once. Each write to a zlib stream is a round trip to its thread, and a
 * file's pieces are a row each: written one by one, they made a 100,000-row file take five to ten
 * times as long to write.
 */
const GZIP_INPUT_BYTES = 64 * 1024;

/**
 * A file as one gzip stream, with the size of the file itself (known once the stream has ended).
 * A failure of the file fails the compressed stream, and destroying that one destroys the file.
 */
export function gzipped(file: Readable): { stream: Readable; size: () => number } {
  let size = 0;
  const stream = pipeline(
    file,
    inBlocks(GZIP_INPUT_BYTES, (bytes) => {
      size += bytes;
    }),
    createGzip({ level: GZIP_LEVEL }),
    () => {},
  );
  return { stream, size: () => size };
}

/** Gathers a stream's pieces into blocks of `size` bytes (the last one shorter), copied as they come. */
function inBlocks(size: number, counted: (bytes: number) => void): Transform {
  let block = Buffer.allocUnsafeSlow(size);
  let filled = 0;
  return new Transform({
    transform(piece: Buffer | string, _encoding, done) {
      let bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
      counted(bytes.length);
      while (bytes.length > 0) {
        const copied = bytes.copy(block, filled);
        filled += copied;
        bytes = bytes.subarray(copied);
        if (filled === size) {
          this.push(block);
          block = Buffer.allocUnsafeSlow(size);
          filled = 0;
        }
      }
      done();
    },
    flush(done) {
      if (filled > 0) this.push(block.subarray(0, filled));
      done();
    },
  });
}

/**
 * Reads a stream in chunks of exactly `size` bytes (the last one shorter), handing each to `sink`
 * in order, one at a time. Each piece is copied into the chunk being filled as it comes, so no
 * piece outlives a few rows (pieces kept until their chunk was full lived through young-generation
 * collections and were promoted: the whole file passed through the old generation). While one
 * chunk is stored the next is filled; a full chunk waits for the one before to be stored, so two
 * buffers are all this holds. A chunk's bytes are reused once its `sink` settles: copy to keep.
 */
export async function inChunks(stream: Readable, size: number, sink: (chunk: Buffer, seq: number) => Promise<void>): Promise<number> {
  const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)] as const;
  let current = buffers[0];
  let filled = 0;
  let seq = 0;
  let total = 0;
  let storing: Promise<void> = Promise.resolve();
  const flush = async () => {
    // The buffer filled next is the one being stored: its store must end (a failed one fails the file).
    await storing;
    storing = sink(current.subarray(0, filled), seq++);
    storing.catch(() => {}); // awaited at the next flush or at the end
    current = current === buffers[0] ? buffers[1] : buffers[0];
    filled = 0;
  };
  try {
    for await (const piece of stream) {
      let bytes = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
      total += bytes.length;
      while (bytes.length > 0) {
        const copied = bytes.copy(current, filled);
        filled += copied;
        bytes = bytes.subarray(copied);
        if (filled === size) await flush();
      }
    }
    if (filled > 0 || seq === 0) await flush();
    await storing;
    return total;
  } finally {
    // A file that failed still lets its last store end, so nothing is written after the caller moves on.
    await storing.catch(() => {});
  }
}
