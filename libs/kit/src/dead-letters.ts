import { deadLetterStream, deadLetterWildcard, redeliverySubject } from '@allot/contracts';
import { DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { consume, type DeadLetter, type JetStreamDeps, jsonOf, type RunningConsumer, redeliveredFrom } from './consumer';

/** A durable reader of every service's dead letters (the platform's dead-letter inbox). */
export interface DeadLetterSubscription {
  durable: string;
  /** `seq` is the record's sequence on the dead-letter stream (what `removeDeadLetter` takes). */
  handler(record: DeadLetter, seq: number): Promise<void>;
}

/**
 * Reads the dead-letter stream with a durable consumer: acks after the handler, naks a failure
 * for another try later. A record that is not a dead letter is acknowledged and skipped.
 */
export function consumeDeadLetters(deps: JetStreamDeps, subscription: DeadLetterSubscription): Promise<RunningConsumer> {
  return consume(
    deps,
    {
      stream: deadLetterStream,
      durable: subscription.durable,
      filterSubjects: [deadLetterWildcard],
      maxDeliver: -1,
      deliverPolicy: DeliverPolicy.All,
    },
    async (msg: JsMsg) => {
      const record = jsonOf(msg) as DeadLetter | undefined;
      if (!record?.id || !record.consumer) return msg.ack();
      try {
        await subscription.handler(record, msg.info.streamSequence);
        msg.ack();
      } catch (error) {
        deps.log.warn({ err: error, deadLetter: record.id }, 'dead letter not recorded; will retry');
        msg.nak(1000);
      }
    },
  );
}

/**
 * Hands a dead letter back to the consumer that gave up on it, as it was (payload and headers).
 * It goes to the consumer's redelivery subject, which only that consumer (an event consumer, or
 * the runner of one kind of job) reads, so no other consumer sees it again. Its next failure is recorded under the same dead-letter id.
 * `attempt` makes each retry a new message for JetStream's duplicate detection.
 */
export async function redeliver(js: JetStreamClient, record: DeadLetter, attempt: string): Promise<void> {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(record.headers)) if (key !== 'Nats-Msg-Id') h.set(key, value);
  h.set(redeliveredFrom.subject, record.subject);
  h.set(redeliveredFrom.stream, record.stream);
  h.set(redeliveredFrom.seq, String(record.streamSeq));
  await js.publish(redeliverySubject(record.service, record.consumer), record.data, {
    headers: h,
    msgID: `redeliver-${record.id}-${attempt}`,
  });
}

/** Removes one record from the dead-letter stream; one already gone (expired, removed) is fine. */
export async function removeDeadLetter(jsm: JetStreamManager, seq: number): Promise<void> {
  try {
    await jsm.streams.deleteMessage(deadLetterStream, seq, false);
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
  }
}
