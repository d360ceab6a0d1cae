import { bulkWriteInParts, findEachById, insertNew } from '@allot/kit';
import type { Collection, Db } from 'mongodb';

/** An imported booking's id, claimed by the import batch that makes it. */
interface ClaimDoc {
  _id: string;
  /** The batch that claimed it (`<import>:<phase>:<first row>`). */
  batch: string;
}

/**
 * Which imported bookings exist or are being made: a batch claims its bookings' ids with one
 * insert, and the duplicates it gets back are the rows imported before — cheaper than reading
 * whether each booking exists (on FerretDB one insert of a thousand ids costs about what ten
 * reads by id do, and a read of many ids at once scans the collection). A claim whose booking
 * the ledger refused is given back; the batch that claimed it recognises its own claims when it
 * runs again after a crash.
 */
export class ImportClaims {
  constructor(private readonly docs: Collection<ClaimDoc>) {}

  static of(db: Db): ImportClaims {
    return new ImportClaims(db.collection<ClaimDoc>('import_claims'));
  }

  /** Claims the ids for `batch`; answers the positions of those claimed before (by any batch, this one included). */
  claim(ids: string[], batch: string): Promise<Set<number>> {
    return insertNew(
      this.docs,
      ids.map((_id) => ({ _id, batch })),
    );
  }

  /** Of these claimed ids, those `batch` claimed (one read by id each: only a batch run again asks). */
  async claimedBy(ids: string[], batch: string): Promise<Set<string>> {
    const docs = await findEachById(this.docs, ids, { batch });
    return new Set(docs.map((d) => d._id));
  }

  /** Gives back claims whose bookings were not made (the ledger refused them). */
  async release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await bulkWriteInParts(
      this.docs,
      ids.map((_id) => ({ deleteOne: { filter: { _id } } })),
    );
  }
}
