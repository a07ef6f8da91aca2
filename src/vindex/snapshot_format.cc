#include "vindex/snapshot_format.h"

#include <bit>
#include <cstring>
#include <unordered_set>

#include "common/crc32c.h"
#include "vindex/index_limits.h"
#include "vindex/vector_index.h"

namespace tandem::vindex_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the snapshot body is hnswlib's little-endian memory image");

constexpr char kMagic[4] = {'T', 'V', 'I', 'X'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 72;
constexpr size_t kCrcBytes = 4;
constexpr size_t kMaxRngState = 4096;

template <typename T>
void Put(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void PutString(std::string* out, std::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// A cursor over the body; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Take(size_t n, std::string_view* out) {
    if (n > data_.size() - pos_) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool U32(uint32_t* v) {
    std::string_view s;
    if (!Take(4, &s)) return false;
    *v = Get<uint32_t>(s.data());
    return true;
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

class Decoder {
 public:
  Decoder(const std::string& path, std::string_view data, SnapshotImage* out)
      : path_(path), data_(data), img_(*out) {}

  Status Run() {
    TANDEM_RETURN_IF_ERROR(Header());
    Reader body(data_.substr(kHeaderBytes, data_.size() - kHeaderBytes - kCrcBytes));
    TANDEM_RETURN_IF_ERROR(Body(&body));
    TANDEM_RETURN_IF_ERROR(Graph());
    return Labels();
  }

 private:
  Status Bad(const std::string& what) const { return Status::Corruption(path_ + ": " + what); }

  Status Header() {
    if (data_.size() < kHeaderBytes + kCrcBytes) {
      return Bad("truncated: " + std::to_string(data_.size()) + " bytes is shorter than the " +
                 std::to_string(kHeaderBytes + kCrcBytes) + "-byte header and checksum");
    }
    const char* p = data_.data();
    if (std::memcmp(p, kMagic, 4) != 0) return Bad("bad magic (not a TVIX vector index snapshot)");
    const uint32_t version = Get<uint32_t>(p + 4);
    if (version != kFormatVersion) {
      return Bad("unsupported format version " + std::to_string(version));
    }
    const uint64_t body_size = Get<uint64_t>(p + 64);
    const uint64_t actual = data_.size() - kHeaderBytes - kCrcBytes;
    if (body_size != actual) {
      return Bad("size mismatch: header says a body of " + std::to_string(body_size) +
                 " bytes, the file holds " + std::to_string(actual));
    }
    const uint32_t stored = Get<uint32_t>(p + data_.size() - kCrcBytes);
    if (crc32c::Value(p, data_.size() - kCrcBytes) != stored) return Bad("checksum mismatch");
    img_.dimension = Get<uint32_t>(p + 8);
    img_.m = Get<uint32_t>(p + 12);
    img_.ef_construction = Get<uint32_t>(p + 16);
    img_.max_level = Get<int32_t>(p + 20);
    img_.seed = Get<uint64_t>(p + 24);
    img_.element_count = Get<uint64_t>(p + 32);
    img_.live_count = Get<uint64_t>(p + 40);
    img_.sequence = Get<uint64_t>(p + 48);
    img_.entry_point = Get<uint32_t>(p + 56);
    const uint32_t element_bytes = Get<uint32_t>(p + 60);
    VectorIndexOptions o;
    o.dimension = img_.dimension;
    o.m = img_.m;
    o.ef_construction = img_.ef_construction;
    if (Status s = ValidateIndexOptions(o); !s.ok()) return Bad("header: " + s.message());
    if (element_bytes != img_.layout().element_bytes()) {
      return Bad("header: element size " + std::to_string(element_bytes) + " does not match " +
                 std::to_string(img_.layout().element_bytes()) + " for dimension " +
                 std::to_string(img_.dimension) + " and m " + std::to_string(img_.m));
    }
    if (img_.element_count > kMaxElements || img_.live_count > img_.element_count) {
      return Bad("header: element count " + std::to_string(img_.element_count) +
                 " / live count " + std::to_string(img_.live_count) + " out of range");
    }
    return Status::OK();
  }

  Status Body(Reader* r) {
    TANDEM_RETURN_IF_ERROR(RngState(r, &img_.level_rng));
    TANDEM_RETURN_IF_ERROR(RngState(r, &img_.update_rng));
    const ElementLayout layout = img_.layout();
    const uint64_t n = img_.element_count;
    if (n > r->remaining() / layout.element_bytes()) {
      return Bad("body: " + std::to_string(n) + " elements of " +
                 std::to_string(layout.element_bytes()) + " bytes do not fit in " +
                 std::to_string(r->remaining()) + " bytes");
    }
    (void)r->Take(n * layout.element_bytes(), &img_.level0);
    img_.levels.resize(n);
    img_.upper_links.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t level = 0;
      if (!r->U32(&level)) return Bad("body: truncated in the links of element " + std::to_string(i));
      if (level > kMaxLevel) {
        return Bad("body: element " + std::to_string(i) + " has level " + std::to_string(level));
      }
      img_.levels[i] = level;
      if (!r->Take(level * layout.upper_link_bytes(), &img_.upper_links[i])) {
        return Bad("body: truncated in the links of element " + std::to_string(i));
      }
    }
    if (r->remaining() != 0) {
      return Bad("body: " + std::to_string(r->remaining()) + " unexpected trailing bytes");
    }
    return Status::OK();
  }

  Status RngState(Reader* r, std::string* out) {
    uint32_t len = 0;
    std::string_view s;
    if (!r->U32(&len) || len > kMaxRngState || !r->Take(len, &s)) {
      return Bad("body: bad random generator state");
    }
    out->assign(s);
    return Status::OK();
  }

  // Every link names an existing element that has the level the link is on,
  // and the entry point is the (an) element at the top level.
  Status Graph() {
    const uint64_t n = img_.element_count;
    if (n == 0) {
      if (img_.max_level != -1 || img_.entry_point != kNoEntryPoint) {
        return Bad("header: an empty index with an entry point");
      }
      return Status::OK();
    }
    if (img_.entry_point >= n || img_.max_level < 0 ||
        img_.levels[img_.entry_point] != static_cast<uint32_t>(img_.max_level)) {
      return Bad("header: entry point " + std::to_string(img_.entry_point) + " at max level " +
                 std::to_string(img_.max_level) + " is inconsistent");
    }
    const ElementLayout layout = img_.layout();
    for (uint64_t i = 0; i < n; ++i) {
      if (img_.levels[i] > static_cast<uint32_t>(img_.max_level)) {
        return Bad("body: element " + std::to_string(i) + " is above the max level");
      }
      const char* l0 = img_.level0.data() + i * layout.element_bytes();
      TANDEM_RETURN_IF_ERROR(Links(i, 0, Get<uint16_t>(l0), 2 * layout.m, l0 + 4));
      for (uint32_t level = 1; level <= img_.levels[i]; ++level) {
        const char* ll = img_.upper_links[i].data() + (level - 1) * layout.upper_link_bytes();
        TANDEM_RETURN_IF_ERROR(Links(i, level, Get<uint16_t>(ll), layout.m, ll + 4));
      }
    }
    return Status::OK();
  }

  Status Links(uint64_t element, uint32_t level, size_t count, size_t max, const char* ids) {
    if (count > max) {
      return Bad("body: element " + std::to_string(element) + " has " + std::to_string(count) +
                 " links on level " + std::to_string(level) + " (max " + std::to_string(max) + ")");
    }
    for (size_t j = 0; j < count; ++j) {
      const uint32_t to = Get<uint32_t>(ids + 4 * j);
      if (to >= img_.element_count || img_.levels[to] < level) {
        return Bad("body: element " + std::to_string(element) + " links to " + std::to_string(to) +
                   " on level " + std::to_string(level) + ", which does not exist");
      }
    }
    return Status::OK();
  }

  Status Labels() {
    const ElementLayout layout = img_.layout();
    std::unordered_set<uint64_t> seen;
    seen.reserve(img_.element_count);
    uint64_t live = 0;
    for (uint64_t i = 0; i < img_.element_count; ++i) {
      const char* e = img_.level0.data() + i * layout.element_bytes();
      if ((static_cast<uint8_t>(e[2]) & 1) == 0) ++live;
      if (!seen.insert(Get<uint64_t>(e + layout.label_offset())).second) {
        return Bad("body: label " + std::to_string(Get<uint64_t>(e + layout.label_offset())) +
                   " appears twice");
      }
    }
    if (live != img_.live_count) {
      return Bad("header: live count " + std::to_string(img_.live_count) + " but " +
                 std::to_string(live) + " elements are not removed");
    }
    return Status::OK();
  }

  const std::string& path_;
  std::string_view data_;
  SnapshotImage& img_;
};

}  // namespace

std::string EncodeSnapshot(const SnapshotImage& img) {
  const ElementLayout layout = img.layout();
  uint64_t body = 8 + img.level_rng.size() + img.update_rng.size() + img.level0.size();
  for (const auto& links : img.upper_links) body += 4 + links.size();
  std::string out;
  out.reserve(kHeaderBytes + body + kCrcBytes);
  out.append(kMagic, 4);
  Put<uint32_t>(&out, kFormatVersion);
  Put<uint32_t>(&out, img.dimension);
  Put<uint32_t>(&out, img.m);
  Put<uint32_t>(&out, img.ef_construction);
  Put<int32_t>(&out, img.max_level);
  Put<uint64_t>(&out, img.seed);
  Put<uint64_t>(&out, img.element_count);
  Put<uint64_t>(&out, img.live_count);
  Put<uint64_t>(&out, img.sequence);
  Put<uint32_t>(&out, img.entry_point);
  Put<uint32_t>(&out, static_cast<uint32_t>(layout.element_bytes()));
  Put<uint64_t>(&out, body);
  PutString(&out, img.level_rng);
  PutString(&out, img.update_rng);
  out.append(img.level0);
  for (size_t i = 0; i < img.levels.size(); ++i) {
    Put<uint32_t>(&out, img.levels[i]);
    out.append(img.upper_links[i]);
  }
  Put<uint32_t>(&out, crc32c::Value(out.data(), out.size()));
  return out;
}

Status DecodeSnapshot(const std::string& path, std::string_view data, SnapshotImage* out) {
  *out = SnapshotImage{};
  Status s = Decoder(path, data, out).Run();
  if (!s.ok()) *out = SnapshotImage{};
  return s;
}

}  // namespace tandem::vindex_internal
