// Topic: a named, fixed set of partitions stored under <log>/topics/<name>/.
//
//   topics/<name>/topic.meta      magic, version, partition count, name, CRC-32C
//   topics/<name>/<partition>/    one Partition directory per partition (0..N-1)
//
// topic.meta is written with WriteFileAtomically (temp file, fdatasync(2),
// rename(2), fsync(2) of the topic directory) before any partition exists, so
// a crash during creation leaves either no meta (the directory is ignored on
// the next Open and the topic is created again on first use) or a complete
// meta whose missing partition directories Partition::Open creates.
//
// Byte grammar of topic.meta (little-endian):
//   magic:u32 = 0x43504F54 ("TOPC")  version:u32 = 1  partitions:u32
//   name_len:u16 name  crc32c:u32 (of every byte before it)
//
// Thread safety: a Topic is immutable after Open; its partitions are safe for
// concurrent use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/thread_pool.h"
#include "log/partition.h"
#include "tandem/env.h"
#include "tandem/status.h"

namespace tandem {

inline constexpr uint32_t kMaxPartitionsPerTopic = 4096;
inline constexpr const char* kTopicMetaFile = "topic.meta";

// OK when `name` is [a-z][a-z0-9_]{0,63}, optionally followed by '.'-separated
// suffixes of the same pattern ("person", "person.dlq"); else InvalidArgument
// naming the topic and the rule.
Status ValidateTopicName(std::string_view name);
// True for internal topics (names with a '.', e.g. "person.dlq").
inline bool IsInternalTopic(std::string_view name) {
  return name.find('.') != std::string_view::npos;
}

std::string EncodeTopicMeta(std::string_view name, uint32_t partitions);
// Corruption naming `file` when the bytes are damaged or name another topic.
Status DecodeTopicMeta(const std::string& file, std::string_view data, std::string_view name,
                       uint32_t* partitions);
// Reads and decodes <dir>/topic.meta. NotFound when the file is missing.
Status ReadTopicMeta(FileSystem& fs, const std::string& dir, std::string_view name,
                     uint32_t* partitions);

class Topic {
 public:
  // Opens an existing topic (topic.meta present) in `dir`. `fs`, `clock` and
  // `pool` must outlive the Topic. Errors name the file.
  static Result<std::unique_ptr<Topic>> Open(FileSystem& fs, Clock& clock, ThreadPool& pool,
                                             std::string dir, std::string name,
                                             const PartitionOptions& base);
  // Creates a topic in `dir` (which may exist without a topic.meta) with
  // `partitions` partitions, durably (see the file comment).
  static Result<std::unique_ptr<Topic>> Create(FileSystem& fs, Clock& clock, ThreadPool& pool,
                                               std::string dir, std::string name,
                                               uint32_t partitions, const PartitionOptions& base);
  Topic(const Topic&) = delete;
  Topic& operator=(const Topic&) = delete;

  const std::string& name() const { return name_; }
  const std::string& dir() const { return dir_; }
  uint32_t num_partitions() const { return static_cast<uint32_t>(partitions_.size()); }
  Partition& partition(uint32_t p) { return *partitions_[p]; }
  // The partition of `key`: 0 for the empty key, else PartitionForKey.
  uint32_t PartitionOf(std::string_view key) const;

  // Closes every partition; returns the first error.
  Status Close();

 private:
  Topic(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}
  Status OpenPartitions(FileSystem& fs, Clock& clock, ThreadPool& pool, uint32_t n,
                        const PartitionOptions& base);

  std::string dir_;
  std::string name_;
  std::vector<std::unique_ptr<Partition>> partitions_;
};

}  // namespace tandem
