import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';

/** One row of an import's file: its line (where the row starts) and its cells by column name. */
export interface FileRow {
  line: number;
  /** The cells by column; null when the line could not be read as a row (its `problem` says why). */
  cells: Record<string, unknown> | null;
  problem?: string;
}

/** A file that cannot be read as a whole (an unclosed quote, a missing header): the import fails with this reason. */
export class UnreadableFile extends Error {}

/**
 * The rows of a CSV (header row first) or NDJSON file whose bytes arrive as chunks, read as a
 * stream so a large file is never held whole. CSV is parsed by csv-parse: quoted fields with
 * commas, quotes and line breaks inside, a byte-order mark, CRLF line ends.
 */
export function rowsOf(chunks: AsyncIterable<Uint8Array>, format: 'csv' | 'ndjson'): AsyncGenerator<FileRow> {
  return format === 'csv' ? csvRows(chunks) : ndjsonRows(chunks);
}

interface Info {
  lines: number;
  empty_lines: number;
}

async function* csvRows(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<FileRow> {
  const parser = Readable.from(chunks).pipe(
    parse({ bom: true, columns: true, skip_empty_lines: true, relax_column_count: true, info: true }),
  );
  // A record's `info.lines` is the line it ends on; it starts after the previous one ended and the blank lines between.
  let ended = 1;
  let blank = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: Info }>) {
      const line = ended + 1 + (info.empty_lines - blank);
      ended = info.lines;
      blank = info.empty_lines;
      yield { line, cells: record };
    }
  } catch (error) {
    throw new UnreadableFile(`The CSV cannot be read: ${(error as Error).message}`);
  }
}

async function* ndjsonRows(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<FileRow> {
  const lines = createInterface({ input: Readable.from(chunks), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line, cells: null, problem: 'not a JSON value' };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) yield { line, cells: null, problem: 'not a JSON object' };
    else yield { line, cells: value as Record<string, unknown> };
  }
}
