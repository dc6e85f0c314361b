// The SQLite side of the embedded log: one database file in WAL mode, its schema, and two
// connections. The writer connection lives on the writer thread (writer-thread.ts) and runs every
// write transaction; the reader connection stays on the main thread for consumers, lag and time
// seeks. WAL lets the reader run while the writer commits, and shows it committed rows only.
// Nothing here keeps state besides the connections; offsets and topic metadata are cached by
// EmbeddedEventLog.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { EventLogUnavailableError } from '../event-log.js';
import { DataKind } from './event-codec.js';

export const DATABASE_FILE = 'eventlog.sqlite';
/** Held with an exclusive lock for the process's lifetime: one process per data directory. */
export const LOCK_FILE = 'eventlog.lock';
const SCHEMA_VERSION = 1;
/** How long a connection waits for a lock SQLite holds briefly (WAL recovery, checkpoints). */
const BUSY_TIMEOUT_MS = 5_000;

// `records` keeps a rowid table (rows are ~1 KiB, too wide for a WITHOUT ROWID b-tree) with a
// unique index on the position. There is no timestamp index: timestamps are kept non-decreasing
// per partition, so time -> offset is a binary search over offsets (see offsetForTimestamp).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  partitions INTEGER NOT NULL,
  retention_ms INTEGER
);
CREATE TABLE IF NOT EXISTS partitions (
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  start_offset INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  last_timestamp INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  key TEXT,
  attributes TEXT NOT NULL,
  attribute_types TEXT,
  data_kind INTEGER NOT NULL,
  data BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS records_position ON records (topic_id, partition, offset);
CREATE TABLE IF NOT EXISTS group_offsets (
  group_name TEXT NOT NULL,
  topic_id INTEGER NOT NULL,
  partition INTEGER NOT NULL,
  committed INTEGER NOT NULL,
  PRIMARY KEY (group_name, topic_id, partition)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_offsets_topic ON group_offsets (topic_id);
-- Records of deleted topics are purged in the background, in chunks; this remembers which.
CREATE TABLE IF NOT EXISTS deleted_topics (topic_id INTEGER PRIMARY KEY);
`;

export interface TopicRow {
  id: number;
  name: string;
  partitions: number;
  retention_ms: number | null;
}

export interface PartitionRow {
  topic_id: number;
  partition: number;
  start_offset: number;
  next_offset: number;
  last_timestamp: number;
}

export interface RecordRow {
  offset: number;
  timestamp: number;
  key: string | null;
  attributes: string;
  attribute_types: string | null;
  data_kind: number;
  data: string | Uint8Array | null;
}

/** The writer thread's connection: the schema, the process lock, and the write statements. */
export class SqliteWriter {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly #lock: DatabaseSync;
  readonly insertRecord: StatementSync;
  readonly upsertPartition: StatementSync;
  readonly insertTopic: StatementSync;
  readonly updateTopic: StatementSync;
  readonly deleteTopicRow: StatementSync;
  readonly deleteTopicPartitions: StatementSync;
  readonly deleteTopicOffsets: StatementSync;
  readonly insertDeletedTopic: StatementSync;
  readonly purgeRecordsChunk: StatementSync;
  readonly deleteDeletedTopic: StatementSync;
  readonly deleteRecordsBelow: StatementSync;
  readonly upsertGroupOffset: StatementSync;
  readonly deleteGroupOffsets: StatementSync;

  constructor(dataDir: string) {
    this.path = join(dataDir, DATABASE_FILE);
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw unavailable(`cannot open the event log database ${this.path}`, error);
    }
    this.#lock = lockDataDir(dataDir, this.path);
    try {
      this.db = new DatabaseSync(this.path, { timeout: BUSY_TIMEOUT_MS });
    } catch (error) {
      this.#lock.close();
      throw unavailable(`cannot open the event log database ${this.path}`, error);
    }
    try {
      // WAL + synchronous=FULL: every COMMIT fsyncs the WAL, so a resolved append survives a
      // process kill and a power loss. WAL also lets the main thread's reader run meanwhile.
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = FULL');
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec(SCHEMA);
      this.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      this.db.exec('COMMIT');
    } catch (error) {
      this.close();
      if (isBusy(error)) throw inUse(this.path);
      throw unavailable(`cannot initialise the event log database ${this.path}`, error);
    }
    const db = this.db;
    // The text columns arrive as UTF-8 bytes straight from the transferred buffer (write-ops.ts);
    // CAST stores them as TEXT, as binding the string would, without making a JS string first.
    // Only binary data stays a BLOB.
    this.insertRecord = db.prepare(
      `INSERT INTO records (topic_id, partition, offset, timestamp, key, attributes, attribute_types, data_kind, data)
       VALUES (?1, ?2, ?3, ?4, CAST(?5 AS TEXT), CAST(?6 AS TEXT), CAST(?7 AS TEXT), ?8,
               CASE WHEN ?8 = ${DataKind.binary} THEN ?9 ELSE CAST(?9 AS TEXT) END)`,
    );
    this.upsertPartition = db.prepare(
      `INSERT OR REPLACE INTO partitions (topic_id, partition, start_offset, next_offset, last_timestamp)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.insertTopic = db.prepare('INSERT INTO topics (name, partitions, retention_ms) VALUES (?, ?, ?)');
    this.updateTopic = db.prepare('UPDATE topics SET partitions = ?, retention_ms = ? WHERE id = ?');
    this.deleteTopicRow = db.prepare('DELETE FROM topics WHERE id = ?');
    this.deleteTopicPartitions = db.prepare('DELETE FROM partitions WHERE topic_id = ?');
    this.deleteTopicOffsets = db.prepare('DELETE FROM group_offsets WHERE topic_id = ?');
    this.insertDeletedTopic = db.prepare('INSERT OR IGNORE INTO deleted_topics (topic_id) VALUES (?)');
    this.purgeRecordsChunk = db.prepare(
      'DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE topic_id = ? LIMIT ?)',
    );
    this.deleteDeletedTopic = db.prepare('DELETE FROM deleted_topics WHERE topic_id = ?');
    this.deleteRecordsBelow = db.prepare(
      'DELETE FROM records WHERE topic_id = ? AND partition = ? AND offset >= ? AND offset < ?',
    );
    this.upsertGroupOffset = db.prepare(
      `INSERT INTO group_offsets (group_name, topic_id, partition, committed) VALUES (?, ?, ?, ?)
       ON CONFLICT (group_name, topic_id, partition) DO UPDATE SET committed = excluded.committed`,
    );
    this.deleteGroupOffsets = db.prepare('DELETE FROM group_offsets WHERE group_name = ?');
  }

  rollbackQuietly(): void {
    try {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
    } catch {
      // The transaction is already gone (SQLite rolls back itself on some I/O errors).
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
    if (this.#lock.isOpen) this.#lock.close();
  }
}

/** The main thread's connection: reads only, never blocked by the writer's transactions. */
export class SqliteReader {
  readonly db: DatabaseSync;
  readonly selectRecords: StatementSync;
  readonly selectTimestampAt: StatementSync;
  readonly selectTopics: StatementSync;
  readonly selectPartitions: StatementSync;
  readonly selectDeletedTopics: StatementSync;
  readonly selectGroupOffsets: StatementSync;

  /** Open only after a SqliteWriter created the schema and holds the lock. */
  constructor(path: string) {
    try {
      this.db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
      this.db.exec('PRAGMA query_only = ON');
    } catch (error) {
      throw unavailable(`cannot open the event log database ${path}`, error);
    }
    const db = this.db;
    // Bounded by the log end offset the caller knows: the writer thread may have committed rows
    // whose commit the main thread has not applied yet, and readers see exactly the cached state.
    this.selectRecords = db.prepare(
      `SELECT offset, timestamp, key, attributes, attribute_types, data_kind, data FROM records
       WHERE topic_id = ? AND partition = ? AND offset >= ? AND offset < ? ORDER BY offset LIMIT ?`,
    );
    this.selectTimestampAt = db.prepare(
      'SELECT timestamp FROM records WHERE topic_id = ? AND partition = ? AND offset = ?',
    );
    this.selectTopics = db.prepare('SELECT id, name, partitions, retention_ms FROM topics ORDER BY name');
    this.selectPartitions = db.prepare(
      'SELECT topic_id, partition, start_offset, next_offset, last_timestamp FROM partitions',
    );
    this.selectDeletedTopics = db.prepare('SELECT topic_id FROM deleted_topics');
    this.selectGroupOffsets = db.prepare(
      'SELECT partition, committed FROM group_offsets WHERE group_name = ? AND topic_id = ?',
    );
  }

  committedOffsets(group: string, topicId: number): Map<number, number> {
    const rows = this.selectGroupOffsets.all(group, topicId) as unknown as {
      partition: number;
      committed: number;
    }[];
    return new Map(rows.map((row) => [row.partition, row.committed]));
  }

  readRecords(
    topicId: number,
    partition: number,
    fromOffset: number,
    endOffset: number,
    limit: number,
  ): RecordRow[] {
    return this.selectRecords.all(topicId, partition, fromOffset, endOffset, limit) as unknown as RecordRow[];
  }

  timestampAt(topicId: number, partition: number, offset: number): number | undefined {
    const row = this.selectTimestampAt.get(topicId, partition, offset) as { timestamp: number } | undefined;
    return row?.timestamp;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/**
 * Takes the data directory's lock: a small SQLite file held in EXCLUSIVE locking mode until the
 * writer closes (or the process dies). The event log itself cannot be opened exclusively, since
 * the writer thread and the main thread's reader share it; the caches still assume one writer.
 */
function lockDataDir(dataDir: string, databasePath: string): DatabaseSync {
  let lock: DatabaseSync;
  try {
    lock = new DatabaseSync(join(dataDir, LOCK_FILE), { timeout: 0 });
  } catch (error) {
    throw unavailable(`cannot open the event log database ${databasePath}`, error);
  }
  try {
    lock.exec('PRAGMA locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; EXCLUSIVE locking mode keeps it after COMMIT.
    lock.exec('BEGIN IMMEDIATE');
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
    lock.exec(`DELETE FROM holder; INSERT INTO holder VALUES (${process.pid})`);
    lock.exec('COMMIT');
  } catch (error) {
    lock.close();
    if (isBusy(error)) throw inUse(databasePath);
    throw unavailable(`cannot lock the event log database ${databasePath}`, error);
  }
  return lock;
}

function inUse(path: string): EventLogUnavailableError {
  return new EventLogUnavailableError(
    `the event log database ${path} is in use by another process (one process per dataDir)`,
  );
}

function isBusy(error: unknown): boolean {
  const errcode = (error as { errcode?: number }).errcode;
  // SQLITE_BUSY (5) and SQLITE_LOCKED (6), possibly extended.
  return errcode !== undefined && ((errcode & 0xff) === 5 || (errcode & 0xff) === 6);
}

export function unavailable(message: string, cause: unknown): EventLogUnavailableError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new EventLogUnavailableError(`${message}: ${detail}`, { cause });
}
