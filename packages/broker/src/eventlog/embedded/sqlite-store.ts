// The SQLite side of the embedded log: one database file, its schema, and the prepared statements
// the log runs. Nothing here keeps state besides the connection; offsets and topic metadata are
// cached by EmbeddedEventLog and written through here.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { EventLogUnavailableError } from '../event-log.js';

export const DATABASE_FILE = 'eventlog.sqlite';
const SCHEMA_VERSION = 1;

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

export class SqliteStore {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly insertRecord: StatementSync;
  readonly upsertPartition: StatementSync;
  readonly selectRecords: StatementSync;
  readonly selectTimestampAt: StatementSync;
  readonly selectTopics: StatementSync;
  readonly selectPartitions: StatementSync;
  readonly insertTopic: StatementSync;
  readonly updateTopic: StatementSync;
  readonly deleteTopicRow: StatementSync;
  readonly deleteTopicPartitions: StatementSync;
  readonly deleteTopicOffsets: StatementSync;
  readonly insertDeletedTopic: StatementSync;
  readonly selectDeletedTopics: StatementSync;
  readonly purgeRecordsChunk: StatementSync;
  readonly deleteDeletedTopic: StatementSync;
  readonly deleteRecordsBelow: StatementSync;
  readonly upsertGroupOffset: StatementSync;
  readonly selectGroupOffsets: StatementSync;
  readonly deleteGroupOffsets: StatementSync;
  readonly countGroupOffsets: StatementSync;

  constructor(dataDir: string) {
    if (typeof dataDir !== 'string' || dataDir === '') {
      throw new TypeError('openEmbeddedEventLog: "dataDir" must be a non-empty directory path');
    }
    this.path = join(dataDir, DATABASE_FILE);
    try {
      mkdirSync(dataDir, { recursive: true });
      this.db = new DatabaseSync(this.path, { timeout: 0 });
    } catch (error) {
      throw unavailable(`cannot open the event log database ${this.path}`, error);
    }
    try {
      // WAL + synchronous=FULL: every COMMIT fsyncs the WAL, so a resolved append survives a
      // process kill and a power loss. EXCLUSIVE locking: the offset and topic caches assume this
      // connection is the only writer, so a second process on the same dataDir is refused.
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = FULL');
      this.db.exec('PRAGMA locking_mode = EXCLUSIVE');
      // Takes the exclusive lock now rather than at the first write.
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec(SCHEMA);
      this.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.close();
      if (isBusy(error)) {
        throw new EventLogUnavailableError(
          `the event log database ${this.path} is in use by another process (one process per dataDir)`,
        );
      }
      throw unavailable(`cannot initialise the event log database ${this.path}`, error);
    }
    const db = this.db;
    this.insertRecord = db.prepare(
      `INSERT INTO records (topic_id, partition, offset, timestamp, key, attributes, attribute_types, data_kind, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertPartition = db.prepare(
      `INSERT OR REPLACE INTO partitions (topic_id, partition, start_offset, next_offset, last_timestamp)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.selectRecords = db.prepare(
      `SELECT offset, timestamp, key, attributes, attribute_types, data_kind, data FROM records
       WHERE topic_id = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?`,
    );
    this.selectTimestampAt = db.prepare(
      'SELECT timestamp FROM records WHERE topic_id = ? AND partition = ? AND offset = ?',
    );
    this.selectTopics = db.prepare('SELECT id, name, partitions, retention_ms FROM topics ORDER BY name');
    this.selectPartitions = db.prepare(
      'SELECT topic_id, partition, start_offset, next_offset, last_timestamp FROM partitions',
    );
    this.insertTopic = db.prepare('INSERT INTO topics (name, partitions, retention_ms) VALUES (?, ?, ?)');
    this.updateTopic = db.prepare('UPDATE topics SET partitions = ?, retention_ms = ? WHERE id = ?');
    this.deleteTopicRow = db.prepare('DELETE FROM topics WHERE id = ?');
    this.deleteTopicPartitions = db.prepare('DELETE FROM partitions WHERE topic_id = ?');
    this.deleteTopicOffsets = db.prepare('DELETE FROM group_offsets WHERE topic_id = ?');
    this.insertDeletedTopic = db.prepare('INSERT OR IGNORE INTO deleted_topics (topic_id) VALUES (?)');
    this.selectDeletedTopics = db.prepare('SELECT topic_id FROM deleted_topics');
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
    this.selectGroupOffsets = db.prepare(
      'SELECT partition, committed FROM group_offsets WHERE group_name = ? AND topic_id = ?',
    );
    this.deleteGroupOffsets = db.prepare('DELETE FROM group_offsets WHERE group_name = ?');
    this.countGroupOffsets = db.prepare('SELECT count(*) AS n FROM group_offsets WHERE group_name = ?');
  }

  committedOffsets(group: string, topicId: number): Map<number, number> {
    const rows = this.selectGroupOffsets.all(group, topicId) as unknown as {
      partition: number;
      committed: number;
    }[];
    return new Map(rows.map((row) => [row.partition, row.committed]));
  }

  readRecords(topicId: number, partition: number, fromOffset: number, limit: number): RecordRow[] {
    return this.selectRecords.all(topicId, partition, fromOffset, limit) as unknown as RecordRow[];
  }

  timestampAt(topicId: number, partition: number, offset: number): number | undefined {
    const row = this.selectTimestampAt.get(topicId, partition, offset) as { timestamp: number } | undefined;
    return row?.timestamp;
  }

  /** Runs `work` in one transaction (synchronously); rolls back if it throws. */
  transaction<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    let result: T;
    try {
      result = work();
    } catch (error) {
      this.rollbackQuietly();
      throw error;
    }
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      this.rollbackQuietly();
      throw error;
    }
    return result;
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
  }
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
