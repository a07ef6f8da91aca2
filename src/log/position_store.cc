#include "log/position_store.h"

#include "log/meta_codec.h"

namespace tandem {
namespace {

constexpr uint32_t kPositionsMagic = 0x534F5054;  // "TPOS"
constexpr uint32_t kPositionsVersion = 1;
constexpr size_t kMaxSubscriptionName = 128;

}  // namespace

std::string EncodePositions(const PositionMap& positions) {
  log_internal::MetaWriter w(kPositionsMagic, kPositionsVersion);
  w.PutU32(static_cast<uint32_t>(positions.size()));
  for (const auto& [key, committed] : positions) {
    w.PutString(key.first);
    w.PutU32(key.second);
    w.PutU64(committed);
  }
  return w.Finish();
}

Status DecodePositions(const std::string& file, std::string_view data, PositionMap* out) {
  log_internal::MetaReader r(file, data);
  TANDEM_RETURN_IF_ERROR(r.Open(kPositionsMagic, kPositionsVersion));
  uint32_t count = 0;
  TANDEM_RETURN_IF_ERROR(r.GetU32(&count));
  out->clear();
  for (uint32_t i = 0; i < count; ++i) {
    std::string topic;
    uint32_t partition = 0;
    uint64_t committed = 0;
    TANDEM_RETURN_IF_ERROR(r.GetString(&topic));
    TANDEM_RETURN_IF_ERROR(r.GetU32(&partition));
    TANDEM_RETURN_IF_ERROR(r.GetU64(&committed));
    (*out)[{std::move(topic), partition}] = committed;
  }
  return r.Done();
}

Status ValidateSubscriptionName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxSubscriptionName && name[0] != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-');
  }
  if (ok) return Status::OK();
  return Status::InvalidArgument("subscription name \"" + std::string(name) +
                                 "\" is invalid: 1-128 characters of [A-Za-z0-9_.-], "
                                 "not starting with '.'");
}

Status PositionStore::Load(PositionMap* out) {
  out->clear();
  if (!fs_.FileExists(path_)) return Status::OK();
  std::string data;
  TANDEM_RETURN_IF_ERROR(ReadFileToString(fs_, path_, &data));
  TANDEM_RETURN_IF_ERROR(DecodePositions(path_, data, out));
  last_saved_ = *out;
  saved_once_ = true;
  return Status::OK();
}

Status PositionStore::Save(const PositionMap& positions) {
  if (saved_once_ && positions == last_saved_) return Status::OK();
  TANDEM_RETURN_IF_ERROR(WriteFileAtomically(fs_, path_, EncodePositions(positions)));
  last_saved_ = positions;
  saved_once_ = true;
  return Status::OK();
}

}  // namespace tandem
