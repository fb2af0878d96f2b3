import type { Selectable } from 'kysely';
import { partsOf, QueryGroup } from './query-group';
import type { ModelTable } from './schema';

export type ModelRow = Selectable<ModelTable>;

/** Registered ONNX models: content-addressed rows and their bytes in parts. */
export class ModelQueries extends QueryGroup {
  /** Store a model once; a second registration of the same bytes is a no-op (returns false). */
  async putModel(m: Omit<ModelRow, 'created_at'>, data: Uint8Array): Promise<boolean> {
    if (await this.model(m.sha256)) return false;
    await this.db
      .insertInto('models')
      .values({ ...m, created_at: this.now() })
      .execute();
    for (const p of partsOf(data))
      await this.db
        .insertInto('model_parts')
        .values({ sha256: m.sha256, ...p })
        .execute();
    return true;
  }
  model(sha256: string) {
    return this.db.selectFrom('models').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  }
  listModels(tokenId?: number) {
    let q = this.db.selectFrom('models').selectAll();
    if (tokenId !== undefined) q = q.where('token_id', '=', tokenId);
    return q.orderBy('created_at', 'desc').limit(500).execute();
  }
  async modelData(sha256: string): Promise<Uint8Array> {
    const parts = await this.db.selectFrom('model_parts').select('data').where('sha256', '=', sha256).orderBy('part').execute();
    return Buffer.concat(parts.map((p) => Buffer.from(p.data)));
  }
}
