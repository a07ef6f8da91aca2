// HnswVectorIndex: VectorIndex over hnswlib::HierarchicalNSW<float> with the
// inner-product space (vectors are L2-normalised, so 1 - distance = cosine).
//
// This is the only translation unit that includes hnswlib: hnswlib.h defines
// non-inline functions (cpuid, AVXCapable, ...), so a second includer in the
// same binary would not link. The adapter uses hnswlib's public members the
// way its own addPoint/searchKnn do, plus what hnswlib lacks:
//  * per-query ef without touching the shared ef_ (searchKnn reads a member
//    that setEf writes: two concurrent searches with different ef would race);
//  * the entry point and top level read under hnswlib's `global` mutex, so a
//    search never pairs a new top level with an old entry point;
//  * slot states of its own (empty / live / removed, atomics), so a search
//    never returns a label whose insert has not returned or whose removal has;
//  * capacity reserved atomically before addPoint, so concurrent inserts never
//    hit "The number of elements exceeds the specified limit";
//  * same-label operations serialised by striped mutexes (hnswlib only copes
//    with concurrent operations on distinct labels);
//  * exceptions converted to Status at every call into hnswlib.
//
// Locking: mu_ (shared_mutex) is taken shared by Upsert, Remove, Contains and
// the searches, exclusively by growth and SaveSnapshot. Readers queue behind a
// waiting exclusive locker (gate_), so a steady stream of searches cannot
// starve growth (glibc's rwlock prefers readers). Lock order: gate_ → mu_ →
// stripe → delete_mu_ / hnswlib's own mutexes.
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sstream>

#include "vindex/index_limits.h"
#include "vindex/snapshot_format.h"
#include "vindex/vector_index.h"

namespace tandem {
namespace {

using Hnsw = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;
using vindex_internal::ElementLayout;
using vindex_internal::SnapshotImage;

enum SlotState : uint8_t { kEmpty = 0, kLive = 1, kRemoved = 2 };

// Same-label Upsert/Remove calls are serialised on one of these.
constexpr size_t kLabelStripes = 256;
// Each failed attempt doubles the capacity; 64 rounds cannot all lose to
// concurrent inserts unless something is badly wrong.
constexpr int kMaxUpsertAttempts = 64;
// A filtered search that must widen jumps to this multiple of the candidate
// count its pass ratio predicts (the prediction is noisy).
constexpr double kWidenMargin = 1.5;

// Best first: higher score, then lower label (deterministic ties).
bool Better(const SearchHit& a, const SearchHit& b) {
  return a.score > b.score || (a.score == b.score && a.label < b.label);
}

// Keeps the k best hits offered (a heap whose front is the worst kept).
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) {}
  void Offer(const SearchHit& hit) {
    if (heap_.size() < k_) {
      heap_.push_back(hit);
      std::push_heap(heap_.begin(), heap_.end(), Better);
    } else if (Better(hit, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Better);
      heap_.back() = hit;
      std::push_heap(heap_.begin(), heap_.end(), Better);
    }
  }
  size_t size() const { return heap_.size(); }
  std::vector<SearchHit> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), Better);
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<SearchHit> heap_;
};

// Runs `fn`, converting what hnswlib (or a caller's filter) throws into a Status.
template <typename Fn>
Status Guarded(const char* what, Fn&& fn) {
  try {
    fn();
    return Status::OK();
  } catch (const std::bad_alloc&) {
    return Status::NoSpace(std::string("vector index: out of memory while ") + what);
  } catch (const std::exception& e) {
    return Status::FailedPrecondition(std::string("vector index: failed while ") + what + ": " +
                                      e.what());
  }
}

struct Candidate {
  float distance;
  tableint id;
};

class HnswVectorIndex final : public VectorIndex {
 public:
  // An empty index with room for `capacity` elements. Throws what hnswlib throws.
  HnswVectorIndex(const VectorIndexOptions& options, size_t capacity)
      : options_(options),
        space_(options.dimension),
        hnsw_(std::make_unique<Hnsw>(&space_, capacity, options.m, options.ef_construction,
                                     options.seed)),
        slots_(std::make_unique<std::atomic<uint8_t>[]>(capacity)) {}

  Status Upsert(uint64_t label, std::span<const float> vector) override;
  Status Remove(uint64_t label) override;
  bool Contains(uint64_t label) const override;
  Result<std::vector<SearchHit>> Search(std::span<const float> query, size_t k,
                                        const SearchParams& params) const override;
  Result<std::vector<SearchHit>> SearchExact(std::span<const float> query, size_t k,
                                             const SearchParams& params) const override;
  size_t size() const override { return live_.load(std::memory_order_acquire); }
  const VectorIndexOptions& options() const override { return options_; }
  Status SaveSnapshot(FileSystem& fs, const std::string& path, uint64_t sequence) const override;

  // Fills the freshly constructed (empty) index from a decoded snapshot.
  Status Restore(const SnapshotImage& image, const std::string& path);

 private:
  // Shared hold of mu_, queueing behind a waiting exclusive holder.
  class ReadGuard {
   public:
    explicit ReadGuard(const HnswVectorIndex& index) : mu_(index.mu_) {
      if (index.exclusive_waiting_.load(std::memory_order_acquire) > 0) {
        std::lock_guard<std::mutex> wait_for_writer(index.gate_);
      }
      mu_.lock_shared();
    }
    ~ReadGuard() { mu_.unlock_shared(); }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

   private:
    std::shared_mutex& mu_;
  };

  class WriteGuard {
   public:
    explicit WriteGuard(const HnswVectorIndex& index) : index_(index) {
      index_.exclusive_waiting_.fetch_add(1, std::memory_order_acq_rel);
      index_.gate_.lock();
      index_.mu_.lock();
    }
    ~WriteGuard() {
      index_.mu_.unlock();
      index_.gate_.unlock();
      index_.exclusive_waiting_.fetch_sub(1, std::memory_order_acq_rel);
    }
    WriteGuard(const WriteGuard&) = delete;
    WriteGuard& operator=(const WriteGuard&) = delete;

   private:
    const HnswVectorIndex& index_;
  };

  Status CheckVector(std::span<const float> v, const char* what) const;
  Status CheckUsable() const;
  std::mutex& Stripe(uint64_t label) const { return stripes_[label % kLabelStripes]; }
  std::optional<tableint> Lookup(uint64_t label) const;
  Status Insert(uint64_t label, std::span<const float> vector);
  Status Replace(tableint id, std::span<const float> vector);
  Status Grow(size_t needed);
  bool IsLive(tableint id) const {
    return slots_[id].load(std::memory_order_acquire) == kLive;
  }
  float Distance(const float* query, tableint id) const {
    return hnsw_->fstdistfunc_(query, hnsw_->getDataByInternalId(id), hnsw_->dist_func_param_);
  }
  // The `ef` nearest live elements found by the HNSW search, unordered.
  std::vector<Candidate> Knn(const float* query, size_t ef) const;
  tableint DescendUpperLevels(const float* query, tableint entry, int max_level) const;
  std::vector<SearchHit> Filtered(const float* query, size_t k, const SearchParams& params) const;
  std::vector<SearchHit> Exact(const float* query, size_t k,
                               const std::function<bool(uint64_t)>* filter) const;
  SnapshotImage Image(uint64_t sequence) const;

  const VectorIndexOptions options_;
  hnswlib::InnerProductSpace space_;  // hnsw_ keeps a pointer into it
  std::unique_ptr<Hnsw> hnsw_;
  // Indexed by internal id, hnsw_->max_elements_ entries; replaced only
  // under the exclusive lock.
  std::unique_ptr<std::atomic<uint8_t>[]> slots_;

  mutable std::shared_mutex mu_;
  mutable std::mutex gate_;
  mutable std::atomic<int> exclusive_waiting_{0};
  mutable std::array<std::mutex, kLabelStripes> stripes_;
  // Serialises hnswlib's mark/unmark (they update its plain num_deleted_).
  std::mutex delete_mu_;

  std::atomic<size_t> reserved_{0};  // new-label slots promised to inserts
  std::atomic<size_t> live_{0};
  std::atomic<size_t> removed_{0};
  std::atomic<bool> damaged_{false};
};

Status HnswVectorIndex::CheckVector(std::span<const float> v, const char* what) const {
  if (v.size() != options_.dimension) {
    return Status::InvalidArgument("vector index: " + std::string(what) + " has " +
                                   std::to_string(v.size()) + " dimensions, the index has " +
                                   std::to_string(options_.dimension));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return Status::InvalidArgument("vector index: " + std::string(what) + "[" +
                                     std::to_string(i) + "] is not a finite number");
    }
  }
  return Status::OK();
}

Status HnswVectorIndex::CheckUsable() const {
  if (!damaged_.load(std::memory_order_acquire)) return Status::OK();
  return Status::FailedPrecondition(
      "vector index: damaged by an earlier failure inside hnswlib; rebuild it");
}

std::optional<tableint> HnswVectorIndex::Lookup(uint64_t label) const {
  std::lock_guard<std::mutex> guard(hnsw_->cur_element_count_guard_);
  auto it = hnsw_->label_lookup_.find(label);
  if (it == hnsw_->label_lookup_.end()) return std::nullopt;
  return it->second;
}

Status HnswVectorIndex::Upsert(uint64_t label, std::span<const float> vector) {
  TANDEM_RETURN_IF_ERROR(CheckVector(vector, "vector"));
  for (int attempt = 0; attempt < kMaxUpsertAttempts; ++attempt) {
    size_t needed = 0;
    {
      ReadGuard read(*this);
      TANDEM_RETURN_IF_ERROR(CheckUsable());
      std::lock_guard<std::mutex> same_label(Stripe(label));
      if (std::optional<tableint> id = Lookup(label)) return Replace(*id, vector);
      const size_t slot = reserved_.fetch_add(1, std::memory_order_acq_rel);
      if (slot < hnsw_->max_elements_) return Insert(label, vector);
      reserved_.fetch_sub(1, std::memory_order_acq_rel);
      needed = slot + 1;
    }
    TANDEM_RETURN_IF_ERROR(Grow(needed));
  }
  return Status::Busy("vector index: capacity kept running out while growing; retry");
}

// Holds: mu_ shared, the label's stripe, a reserved slot.
Status HnswVectorIndex::Insert(uint64_t label, std::span<const float> vector) {
  tableint id = 0;
  Status s = Guarded("inserting", [&] { id = hnsw_->addPoint(vector.data(), label, -1); });
  if (!s.ok()) {
    // hnswlib may have counted the element before failing: do not trust it.
    damaged_.store(true, std::memory_order_release);
    return s;
  }
  slots_[id].store(kLive, std::memory_order_release);
  live_.fetch_add(1, std::memory_order_acq_rel);
  return Status::OK();
}

// Holds: mu_ shared, the label's stripe.
Status HnswVectorIndex::Replace(tableint id, std::span<const float> vector) {
  const uint8_t state = slots_[id].load(std::memory_order_acquire);
  const bool same = std::memcmp(hnsw_->getDataByInternalId(id), vector.data(),
                                vector.size_bytes()) == 0;
  if (state == kLive && same) return Status::OK();  // an idempotent replay
  Status s = Status::OK();
  // Unmark before updating, as hnswlib's addPoint does: updatePoint adds a
  // deleted entry point to the candidates, which would link the entry point
  // to itself. Searches keep skipping the label until slots_ says live.
  if (state == kRemoved) {
    std::lock_guard<std::mutex> del(delete_mu_);
    s = Guarded("re-adding a removed label", [&] { hnsw_->unmarkDeletedInternal(id); });
  }
  if (s.ok() && !same) {
    s = Guarded("replacing a vector", [&] {
      std::lock_guard<std::mutex> update(
          hnsw_->link_list_update_locks_[id & (Hnsw::max_update_element_locks - 1)]);
      hnsw_->updatePoint(vector.data(), id, 1.0f);
    });
  }
  if (!s.ok()) {
    damaged_.store(true, std::memory_order_release);
    return s;
  }
  if (state == kRemoved) {
    slots_[id].store(kLive, std::memory_order_release);
    removed_.fetch_sub(1, std::memory_order_acq_rel);
    live_.fetch_add(1, std::memory_order_acq_rel);
  }
  return Status::OK();
}

Status HnswVectorIndex::Grow(size_t needed) {
  WriteGuard write(*this);
  const size_t capacity = hnsw_->max_elements_;
  if (needed <= capacity) return Status::OK();  // another thread grew it
  if (needed > vindex_internal::kMaxElements) {
    return Status::TooLarge("vector index: more than " +
                            std::to_string(vindex_internal::kMaxElements) + " elements");
  }
  const size_t grown = std::min(std::max(capacity * 2, needed), vindex_internal::kMaxElements);
  std::unique_ptr<std::atomic<uint8_t>[]> slots;
  TANDEM_RETURN_IF_ERROR(Guarded("growing", [&] {
    slots = std::make_unique<std::atomic<uint8_t>[]>(grown);
    hnsw_->resizeIndex(grown);
  }));
  for (size_t i = 0; i < capacity; ++i) {
    slots[i].store(slots_[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  slots_ = std::move(slots);
  return Status::OK();
}

Status HnswVectorIndex::Remove(uint64_t label) {
  ReadGuard read(*this);
  TANDEM_RETURN_IF_ERROR(CheckUsable());
  std::lock_guard<std::mutex> same_label(Stripe(label));
  std::optional<tableint> id = Lookup(label);
  if (!id || !IsLive(*id)) return Status::OK();
  slots_[*id].store(kRemoved, std::memory_order_release);
  Status s;
  {
    std::lock_guard<std::mutex> del(delete_mu_);
    s = Guarded("removing", [&] { hnsw_->markDeletedInternal(*id); });
  }
  if (!s.ok()) {
    damaged_.store(true, std::memory_order_release);
    return s;
  }
  live_.fetch_sub(1, std::memory_order_acq_rel);
  removed_.fetch_add(1, std::memory_order_acq_rel);
  return Status::OK();
}

bool HnswVectorIndex::Contains(uint64_t label) const {
  ReadGuard read(*this);
  std::optional<tableint> id = Lookup(label);
  return id && IsLive(*id);
}

// Greedy descent through the upper levels, as searchKnn does, but reading each
// link list under its lock (writers change them under the same lock).
tableint HnswVectorIndex::DescendUpperLevels(const float* query, tableint entry,
                                             int max_level) const {
  tableint cur = entry;
  float cur_dist = Distance(query, cur);
  for (int level = max_level; level > 0; --level) {
    for (bool changed = true; changed;) {
      changed = false;
      std::lock_guard<std::mutex> lock(hnsw_->link_list_locks_[cur]);
      hnswlib::linklistsizeint* list = hnsw_->get_linklist(cur, level);
      const size_t count = hnsw_->getListCount(list);
      const tableint* ids = reinterpret_cast<const tableint*>(list + 1);
      for (size_t i = 0; i < count; ++i) {
        const float d = Distance(query, ids[i]);
        if (d < cur_dist) {
          cur_dist = d;
          cur = ids[i];
          changed = true;
        }
      }
    }
  }
  return cur;
}

std::vector<Candidate> HnswVectorIndex::Knn(const float* query, size_t ef) const {
  tableint entry;
  int max_level;
  {
    std::lock_guard<std::mutex> top(hnsw_->global);
    entry = hnsw_->enterpoint_node_;
    max_level = hnsw_->maxlevel_;
  }
  std::vector<Candidate> out;
  if (max_level < 0) return out;  // empty (or the first insert is running)
  const tableint start = DescendUpperLevels(query, entry, max_level);
  auto top = removed_.load(std::memory_order_acquire) > 0
                 ? hnsw_->searchBaseLayerST<true>(start, query, ef)
                 : hnsw_->searchBaseLayerST<false>(start, query, ef);
  out.reserve(top.size());
  for (; !top.empty(); top.pop()) {
    if (IsLive(top.top().second)) out.push_back({top.top().first, top.top().second});
  }
  return out;
}

Result<std::vector<SearchHit>> HnswVectorIndex::Search(std::span<const float> query, size_t k,
                                                       const SearchParams& params) const {
  TANDEM_RETURN_IF_ERROR(CheckVector(query, "query"));
  if (!(params.exact_scan_fraction >= 0 && params.exact_scan_fraction <= 1)) {
    return Status::InvalidArgument("SearchParams.exact_scan_fraction must be 0..1");
  }
  ReadGuard read(*this);
  TANDEM_RETURN_IF_ERROR(CheckUsable());
  k = std::min(k, live_.load(std::memory_order_acquire));
  std::vector<SearchHit> hits;
  if (k == 0) return hits;
  TANDEM_RETURN_IF_ERROR(Guarded("searching", [&] {
    if (params.filter != nullptr && *params.filter) {
      hits = Filtered(query.data(), k, params);
      return;
    }
    TopK best(k);
    for (const Candidate& c : Knn(query.data(), std::max(params.ef, k))) {
      best.Offer({hnsw_->getExternalLabel(c.id), 1.0f - c.distance});
    }
    hits = best.Take();
  }));
  return hits;
}

// Widening: ask HNSW for `width` candidates, keep those passing the filter;
// too few → widen (double, or jump to what the pass ratio predicts); once the
// width would exceed exact_scan_fraction of the live labels, scan exactly.
std::vector<SearchHit> HnswVectorIndex::Filtered(const float* query, size_t k,
                                                 const SearchParams& params) const {
  const std::function<bool(uint64_t)>& filter = *params.filter;
  const double live = static_cast<double>(live_.load(std::memory_order_acquire));
  const double limit = std::max(static_cast<double>(k), params.exact_scan_fraction * live);
  size_t width = std::max(k, params.ef);
  for (;;) {  // ends: width at least doubles per round and is bounded by limit
    std::vector<Candidate> candidates = Knn(query, width);
    TopK best(k);
    size_t passed = 0;
    for (const Candidate& c : candidates) {
      const uint64_t label = hnsw_->getExternalLabel(c.id);
      if (!filter(label)) continue;
      ++passed;
      best.Offer({label, 1.0f - c.distance});
    }
    if (passed >= k) return best.Take();
    const double ratio =
        candidates.empty() ? 0.0 : static_cast<double>(passed) / static_cast<double>(candidates.size());
    const double predicted = ratio > 0 ? kWidenMargin * static_cast<double>(k) / ratio
                                       : std::numeric_limits<double>::infinity();
    const double next = std::max(2.0 * static_cast<double>(width), predicted);
    if (next > limit) return Exact(query, k, params.filter);
    width = static_cast<size_t>(next);
  }
}

std::vector<SearchHit> HnswVectorIndex::Exact(const float* query, size_t k,
                                              const std::function<bool(uint64_t)>* filter) const {
  size_t count;
  {
    std::lock_guard<std::mutex> guard(hnsw_->cur_element_count_guard_);
    count = hnsw_->cur_element_count;
  }
  const bool filtered = filter != nullptr && *filter;
  TopK best(k);
  for (tableint id = 0; id < count; ++id) {
    if (!IsLive(id)) continue;  // also skips slots whose insert is still running
    const uint64_t label = hnsw_->getExternalLabel(id);
    if (filtered && !(*filter)(label)) continue;
    best.Offer({label, 1.0f - Distance(query, id)});
  }
  return best.Take();
}

Result<std::vector<SearchHit>> HnswVectorIndex::SearchExact(std::span<const float> query, size_t k,
                                                            const SearchParams& params) const {
  TANDEM_RETURN_IF_ERROR(CheckVector(query, "query"));
  ReadGuard read(*this);
  TANDEM_RETURN_IF_ERROR(CheckUsable());
  k = std::min(k, live_.load(std::memory_order_acquire));
  std::vector<SearchHit> hits;
  if (k == 0) return hits;
  TANDEM_RETURN_IF_ERROR(
      Guarded("searching exactly", [&] { hits = Exact(query.data(), k, params.filter); }));
  return hits;
}

// Holds: mu_ exclusively. The views point into hnsw_'s memory.
SnapshotImage HnswVectorIndex::Image(uint64_t sequence) const {
  SnapshotImage img;
  img.dimension = static_cast<uint32_t>(options_.dimension);
  img.m = static_cast<uint32_t>(options_.m);
  img.ef_construction = static_cast<uint32_t>(options_.ef_construction);
  img.seed = options_.seed;
  img.element_count = hnsw_->cur_element_count;
  img.live_count = live_.load(std::memory_order_acquire);
  img.sequence = sequence;
  img.max_level = hnsw_->maxlevel_;
  img.entry_point = hnsw_->enterpoint_node_;
  std::ostringstream level_rng, update_rng;
  level_rng << hnsw_->level_generator_;
  update_rng << hnsw_->update_probability_generator_;
  img.level_rng = level_rng.str();
  img.update_rng = update_rng.str();
  const size_t n = hnsw_->cur_element_count;
  img.level0 = std::string_view(hnsw_->data_level0_memory_, n * hnsw_->size_data_per_element_);
  img.levels.resize(n);
  img.upper_links.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int level = hnsw_->element_levels_[i];
    img.levels[i] = static_cast<uint32_t>(level);
    if (level > 0) {
      img.upper_links[i] =
          std::string_view(hnsw_->linkLists_[i], level * hnsw_->size_links_per_element_);
    }
  }
  return img;
}

Status HnswVectorIndex::SaveSnapshot(FileSystem& fs, const std::string& path,
                                     uint64_t sequence) const {
  std::string file;
  {
    WriteGuard write(*this);  // excludes writers only while copying
    TANDEM_RETURN_IF_ERROR(CheckUsable());
    TANDEM_RETURN_IF_ERROR(Guarded("encoding a snapshot",
                                   [&] { file = vindex_internal::EncodeSnapshot(Image(sequence)); }));
  }
  return WriteFileAtomically(fs, path, file);
}

Status HnswVectorIndex::Restore(const SnapshotImage& img, const std::string& path) {
  const ElementLayout layout = img.layout();
  if (hnsw_->size_data_per_element_ != layout.element_bytes() ||
      hnsw_->size_links_per_element_ != layout.upper_link_bytes() ||
      hnsw_->offsetData_ != layout.vector_offset() ||
      hnsw_->label_offset_ != layout.label_offset()) {
    return Status::FailedPrecondition(
        "vector index: hnswlib's memory layout differs from the snapshot format's");
  }
  std::istringstream level_rng(img.level_rng), update_rng(img.update_rng);
  level_rng >> hnsw_->level_generator_;
  update_rng >> hnsw_->update_probability_generator_;
  if (level_rng.fail() || update_rng.fail()) {
    return Status::Corruption(path + ": body: bad random generator state");
  }
  const size_t n = img.element_count;
  std::memcpy(hnsw_->data_level0_memory_, img.level0.data(), img.level0.size());
  hnsw_->cur_element_count = n;  // the destructor frees the link lists of levels > 0
  for (size_t i = 0; i < n; ++i) {
    if (img.levels[i] > 0) {
      char* links = static_cast<char*>(malloc(img.upper_links[i].size() + 1));
      if (links == nullptr) throw std::bad_alloc();
      std::memcpy(links, img.upper_links[i].data(), img.upper_links[i].size());
      hnsw_->linkLists_[i] = links;
    } else {
      hnsw_->linkLists_[i] = nullptr;
    }
    hnsw_->element_levels_[i] = static_cast<int>(img.levels[i]);
    hnsw_->label_lookup_[hnsw_->getExternalLabel(i)] = static_cast<tableint>(i);
    slots_[i].store(hnsw_->isMarkedDeleted(i) ? kRemoved : kLive, std::memory_order_relaxed);
  }
  hnsw_->num_deleted_ = n - img.live_count;
  hnsw_->maxlevel_ = img.max_level;
  hnsw_->enterpoint_node_ = img.entry_point;
  reserved_.store(n);
  live_.store(img.live_count);
  removed_.store(n - img.live_count);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> VectorIndex::Create(const VectorIndexOptions& options) {
  TANDEM_RETURN_IF_ERROR(vindex_internal::ValidateIndexOptions(options));
  std::unique_ptr<VectorIndex> index;
  TANDEM_RETURN_IF_ERROR(Guarded("creating the index", [&] {
    index = std::make_unique<HnswVectorIndex>(options, options.initial_capacity);
  }));
  return index;
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::LoadSnapshot(FileSystem& fs,
                                                               const std::string& path,
                                                               uint64_t* sequence) {
  std::string data;
  TANDEM_RETURN_IF_ERROR(ReadFileToString(fs, path, &data));
  SnapshotImage img;
  TANDEM_RETURN_IF_ERROR(vindex_internal::DecodeSnapshot(path, data, &img));
  VectorIndexOptions options;
  options.dimension = img.dimension;
  options.m = img.m;
  options.ef_construction = img.ef_construction;
  options.seed = img.seed;
  options.initial_capacity = std::max<size_t>(img.element_count, options.initial_capacity);
  std::unique_ptr<HnswVectorIndex> index;
  Status restored;
  TANDEM_RETURN_IF_ERROR(Guarded("loading a snapshot", [&] {
    index = std::make_unique<HnswVectorIndex>(options, options.initial_capacity);
    restored = index->Restore(img, path);
  }));
  TANDEM_RETURN_IF_ERROR(restored);
  if (sequence != nullptr) *sequence = img.sequence;
  return std::unique_ptr<VectorIndex>(std::move(index));
}

}  // namespace tandem
