// One line per event for `eddy tail -o text`: time, type, source, id, subject, then a short excerpt of
// the data, so a busy broker stays readable in a terminal.

import { dataValue } from '@eddy/api';

const DATA_EXCERPT = 80;

const str = (v: unknown) =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);

function dataExcerpt(event: Record<string, unknown>): string {
  let text: string;
  if (event.data !== undefined)
    text = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
  else if (typeof event.data_base64 === 'string') {
    // The JSON format carries as data_base64 also JSON and text it cannot write verbatim (JSON with
    // whitespace around it or `null`, text that is not UTF-8...): shown decoded where the content
    // type says JSON or text and the bytes decode, else only counted.
    const bytes = Buffer.from(event.data_base64, 'base64');
    const contentType = typeof event.datacontenttype === 'string' ? event.datacontenttype : undefined;
    const value = dataValue({ data: bytes, datacontenttype: contentType });
    if (Buffer.isBuffer(value)) text = `<${bytes.length} bytes>`;
    else text = typeof value === 'string' ? value : JSON.stringify(value);
  } else return '';
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > DATA_EXCERPT ? `${one.slice(0, DATA_EXCERPT - 3)}...` : one;
}

/** `2026-11-22T02:40:00.123Z  com.example.order.created  /shop  id=42  subject=o-1  {"amount":3}` */
export function eventLine(event: Record<string, unknown>): string {
  const parts = [str(event.time) || '-', str(event.type), str(event.source), `id=${str(event.id)}`];
  if (event.subject !== undefined) parts.push(`subject=${str(event.subject)}`);
  const data = dataExcerpt(event);
  if (data !== '') parts.push(data);
  return parts.join('  ');
}
