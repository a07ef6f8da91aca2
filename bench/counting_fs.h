// CountingFileSystem forwards to another FileSystem and counts the calls a
// benchmark wants to report (fdatasyncs, bytes written, write calls), so the
// log's group-commit factor can be measured from the outside.
//
// Thread safety: as safe as the wrapped file system; counters are atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "tandem/env.h"

namespace tandem::bench {

struct IoCounters {
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> bytes{0};
};

class CountingFileSystem final : public ForwardingFileSystem {
 public:
  explicit CountingFileSystem(FileSystem& base) : ForwardingFileSystem(base) {}
  IoCounters& counters() { return counters_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;

 private:
  IoCounters counters_;
};

}  // namespace tandem::bench
