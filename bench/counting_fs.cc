#include "bench/counting_fs.h"

namespace tandem::bench {
namespace {

class CountingFile final : public WritableFile {
 public:
  CountingFile(std::unique_ptr<WritableFile> base, IoCounters& c) : base_(std::move(base)), c_(c) {}
  Status Append(std::string_view data) override {
    c_.writes.fetch_add(1, std::memory_order_relaxed);
    c_.bytes.fetch_add(data.size(), std::memory_order_relaxed);
    return base_->Append(data);
  }
  Status Sync() override {
    c_.syncs.fetch_add(1, std::memory_order_relaxed);
    return base_->Sync();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  std::unique_ptr<WritableFile> base_;
  IoCounters& c_;
};

Result<std::unique_ptr<WritableFile>> Wrap(Result<std::unique_ptr<WritableFile>> f,
                                           IoCounters& c) {
  if (!f.ok()) return f.status();
  return std::unique_ptr<WritableFile>(std::make_unique<CountingFile>(std::move(*f), c));
}

}  // namespace

Result<std::unique_ptr<WritableFile>> CountingFileSystem::NewWritableFile(const std::string& p) {
  return Wrap(base().NewWritableFile(p), counters_);
}

Result<std::unique_ptr<WritableFile>> CountingFileSystem::NewAppendableFile(
    const std::string& p) {
  return Wrap(base().NewAppendableFile(p), counters_);
}

}  // namespace tandem::bench
