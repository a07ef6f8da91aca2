// Durable committed positions of one subscription: <log>/subscriptions/<name>.pos.
//
// The file maps (topic, partition) to the committed position (the lowest
// unacknowledged offset). It is replaced as a whole with WriteFileAtomically:
// temp file, write(2), fdatasync(2), rename(2), fsync(2) of the directory, so
// after a crash it holds either the previous or the new positions, never a mix.
// Entries of topics the subscription no longer reads are carried over.
//
// Byte grammar (little-endian):
//   magic:u32 = 0x534F5054 ("TPOS")  version:u32 = 1  count:u32
//   count × ( topic_len:u16 topic  partition:u32  committed:u64 )
//   crc32c:u32 (of every byte before it)
//
// Thread safety: PositionStore is not thread-safe; the subscription serialises
// Load and Save under its commit mutex.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "tandem/env.h"
#include "tandem/status.h"

namespace tandem {

using PositionKey = std::pair<std::string, uint32_t>;  // (topic, partition)
using PositionMap = std::map<PositionKey, uint64_t>;

std::string EncodePositions(const PositionMap& positions);
// Corruption naming `file` and the byte offset when the bytes are damaged.
Status DecodePositions(const std::string& file, std::string_view data, PositionMap* out);

// OK when `name` is 1-128 characters of [A-Za-z0-9_.-] not starting with '.'.
Status ValidateSubscriptionName(std::string_view name);

class PositionStore {
 public:
  // `fs` must outlive the store; `path` is the .pos file.
  PositionStore(FileSystem& fs, std::string path) : fs_(fs), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Reads the file; an absent file is an empty map. Corruption when damaged.
  Status Load(PositionMap* out);
  // Writes `positions` durably unless they equal the last written ones.
  Status Save(const PositionMap& positions);

 private:
  FileSystem& fs_;
  std::string path_;
  PositionMap last_saved_;
  bool saved_once_ = false;
};

}  // namespace tandem
