// The info logger of the RocksDB-backed stores (graph, vector): warnings and
// errors to stderr, prefixed with the store's directory; nothing written
// under the store's directory. Header-only, like rocks_status.h: include it
// only from code that links RocksDB.
//
// Why not RocksDB's default LOG file: it lives on the store's disk. When that
// disk fills, the LOG's writer sees ENOSPC; RocksDB's recovery thread then
// logs through the same writer, and Debian's librocksdb (built with
// assertions) aborts the whole process in
// WritableFileWriter::AssertFalseAndGetStatusForPrevError — a disk-full
// store would take the server down instead of failing its writes until the
// space returns (tests/crash/fault_store_outage_test.cc).
//
// Thread safety: Logv may be called from any RocksDB thread; each message is
// one fprintf (stdio locks the stream).
#pragma once

#include <rocksdb/env.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace tandem::store_internal {

class StderrRocksLogger final : public rocksdb::Logger {
 public:
  explicit StderrRocksLogger(std::string dir)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), dir_(std::move(dir)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    std::fprintf(stderr, "tandem: rocksdb %s: %s\n", dir_.c_str(), buf);
  }

 private:
  const std::string dir_;
};

}  // namespace tandem::store_internal
