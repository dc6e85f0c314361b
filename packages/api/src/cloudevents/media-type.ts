// Media types and data bytes as both bindings (HTTP and Kafka) read and write them: one rule
// for what counts as JSON or as a UTF-8 charset, one encoding of in-memory data to bytes.

/** The media type of a content type, lower-cased, without parameters. */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export function isJsonMedia(media: string): boolean {
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

/** False when a charset parameter names an encoding a UTF-8 string would not round-trip. */
export function isUnicodeCharset(contentType: string): boolean {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  if (!match) return true;
  const charset = (match[1] ?? '').toLowerCase();
  return charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii' || charset === 'ascii';
}

export function viewToBuffer(view: ArrayBufferView): Buffer {
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** Data -> body bytes: bytes as-is, JSON text for JSON media types, UTF-8 for other strings. */
export function encodeDataBytes(data: unknown, contentType: string | undefined): Buffer {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (ArrayBuffer.isView(data)) return viewToBuffer(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (typeof data === 'string' && !isJsonMedia(mediaType(contentType ?? '')))
    return Buffer.from(data, 'utf8');
  return Buffer.from(JSON.stringify(data), 'utf8');
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Data bytes -> a value, by media type: JSON media types (in a Unicode charset) parsed, text/*
 * decoded, everything else (and bytes that do not parse or decode) left as the Buffer.
 */
export function decodeDataBytes(bytes: Buffer, contentType: string | undefined): unknown {
  if (contentType === undefined || !isUnicodeCharset(contentType)) return bytes;
  const media = mediaType(contentType);
  if (isJsonMedia(media)) {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      return bytes;
    }
  }
  if (media.startsWith('text/')) {
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return bytes;
    }
  }
  return bytes;
}
