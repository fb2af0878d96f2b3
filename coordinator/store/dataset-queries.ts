import { partsOf, QueryGroup } from './query-group';

/** A data set's row in the registry (its manifest as an object). */
export interface DatasetRow {
  name: string;
  split: string;
  source: string;
  samples: number;
  classes: number;
  manifest: unknown;
  token_id?: number | null;
}

/** An uploaded file as chunks (stored in parts of at most 1 MiB), read afresh each time it is asked for (a retried transaction reads it again). */
export interface DatasetFile {
  name: string;
  parts: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** The data-set registry, and the files uploaded data sets are built from, in parts, for every coordinator on the database. */
export class DatasetQueries extends QueryGroup {
  /** Register data sets (a text upload makes two splits of one file) with the file they are built from, in one transaction. */
  putDatasets(rows: DatasetRow[], file?: DatasetFile) {
    return this.inTransaction(async (db) => {
      if (file) {
        await db.deleteFrom('dataset_files').where('file', '=', file.name).execute();
        let part = 0;
        for await (const chunk of file.parts())
          for (const { data } of partsOf(chunk)) await db.insertInto('dataset_files').values({ file: file.name, part: part++, data }).execute();
      }
      for (const d of rows) {
        await db.deleteFrom('datasets').where('name', '=', d.name).where('split', '=', d.split).execute();
        await db
          .insertInto('datasets')
          .values({ ...d, token_id: d.token_id ?? null, manifest: JSON.stringify(d.manifest), created_at: this.now() })
          .execute();
      }
    });
  }
  putDataset(d: DatasetRow) {
    return this.putDatasets([d]);
  }
  dataset(name: string, split: string) {
    return this.db.selectFrom('datasets').selectAll().where('name', '=', name).where('split', '=', split).executeTakeFirst();
  }
  listDatasets() {
    return this.db.selectFrom('datasets').select(['name', 'split', 'source', 'samples', 'classes', 'created_at']).orderBy('name').execute();
  }
  async hasDatasetFile(name: string): Promise<boolean> {
    return (await this.db.selectFrom('dataset_files').select('part').where('file', '=', name).limit(1).executeTakeFirst()) !== undefined;
  }
  /** A stored file's parts in order, read one at a time: a data set may be larger than one read should hold. */
  async *datasetFile(name: string): AsyncIterable<Uint8Array> {
    const parts = await this.db.selectFrom('dataset_files').select('part').where('file', '=', name).orderBy('part').execute();
    for (const { part } of parts) {
      const row = await this.db.selectFrom('dataset_files').select('data').where('file', '=', name).where('part', '=', part).executeTakeFirstOrThrow();
      const data = row.data as Uint8Array | ArrayBuffer; // SQLite's driver gives an ArrayBuffer, mysql2 a Buffer
      yield data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    }
  }
}
