// Subscriptions on the Kafka bus: a Kafka consumer group per subscription,
// Key_Shared inside the process by partition ownership.
//
// Design.
//  * One librdkafka consumer per Subscription joins the group
//    "<group_prefix><name>" (manual commits only: enable.auto.commit and
//    enable.auto.offset.store are off). Kafka spreads the topic partitions
//    over the processes of the group; a fetch thread polls it and queues the
//    messages of each assigned partition.
//  * Inside the process every assigned partition is owned by one Consumer
//    (the least loaded at the time), so all messages of a key reach one
//    Consumer in offset order. A partition moves to a newly added Consumer only
//    while none of its messages is in flight; a destroyed Consumer's in-flight
//    messages go back to their partition's queue (delivery_count + 1) and its
//    partitions to the remaining Consumers.
//  * Ack removes the offset from the partition's outstanding set. The position
//    committed to Kafka is the lowest outstanding offset (or the next offset
//    to fetch when nothing is outstanding): the contiguous acknowledged
//    prefix. Commits run every commit_interval_ms on the fetch thread, on
//    Commit(), before partitions are revoked and when the Subscription closes.
//  * Nack puts the message back in its partition's queue, held until its
//    backoff passed; later messages of its key wait behind it. Delivery counts
//    live in memory: they restart at 1 after a restart or a rebalance that
//    moves the partition to another process.
//  * Dead letters are appended to "<topic>.dlq" (headers dlq.reason,
//    dlq.subscription, dlq.topic, dlq.partition, dlq.offset,
//    dlq.delivery_count) and acknowledged only after the broker acknowledged
//    the dead letter.
//  * Rebalance (eager): on revoke the acknowledged prefix is committed and the
//    partition's state dropped; acks of messages still in flight from it are
//    ignored, and the new owner redelivers them (the stores' applied markers
//    make that harmless).
//  * Read-ahead: a partition with max_buffered_per_partition queued messages
//    is paused, and resumed below half.
//
// Thread safety: Subscription is safe for concurrent use; each Consumer is
// used by one thread at a time. Lifetimes: the KafkaLogImpl must outlive the
// Subscription; Consumers may outlive it (their calls then return Aborted).
#pragma once

#include <memory>

#include "kafka/kafka_log_impl.h"

namespace tandem::kafka {

// InvalidArgument for an empty name or a bad topic name; Unavailable when the
// cluster does not answer. Topics named in `options` are created when missing.
Result<std::unique_ptr<Subscription>> OpenKafkaSubscription(KafkaLogImpl& log,
                                                            const SubscriptionOptions& options);

}  // namespace tandem::kafka
