// VectorIndex: an approximate nearest-neighbour index over L2-normalised
// float vectors (cosine similarity), hnswlib behind tandem's own adapter, plus
// the exact brute-force search used to measure recall, and the snapshot file
// that lets a store restart without rebuilding the index.
//
// The index is derived data: a store (src/vector) keeps the vectors durably in
// RocksDB and can always rebuild the index from them. Labels are uint64 ids
// the store allocates (one per document); the index never sees entity ids.
//
//   VectorIndexOptions o;
//   o.dimension = 256;
//   std::unique_ptr<VectorIndex> idx = VectorIndex::Create(o).value();
//   TANDEM_RETURN_IF_ERROR(idx->Upsert(7, vec));             // insert or replace
//   auto hits = idx->Search(query, 10, SearchParams{}).value();  // best first
//   TANDEM_RETURN_IF_ERROR(idx->Remove(7));
//
// Snapshots: SaveSnapshot writes <dir>/<name>.tmp, fdatasyncs it, renames it
// to <dir>/<name> and fsyncs the directory. The file carries a header (magic,
// format version, dimension, parameters, element count, the caller's opaque
// `sequence`) and a CRC32C of everything, so LoadSnapshot either returns the
// index exactly as saved or Corruption naming the file and what is wrong
// (never a partly loaded index). The byte format is documented in
// src/vindex/README.md.
//
// Thread safety: Upsert, Remove and Search may be called concurrently from
// several threads (inserts of distinct labels run in parallel inside
// hnswlib; growth of the capacity takes an exclusive lock briefly).
// SaveSnapshot sees a consistent state (it excludes writers while it copies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tandem/env.h"
#include "tandem/status.h"

namespace tandem {

struct VectorIndexOptions {
  size_t dimension = 0;  // required, 1..4096
  // HNSW graph degree (default 16). Higher: better recall, more memory
  // (about M * 2 * 4 bytes per vector at level 0) and slower inserts.
  size_t m = 16;
  // Candidate list size while inserting (default: see src/vindex/README.md
  // for the measured trade-off). Higher: better graph, slower inserts.
  size_t ef_construction = 100;
  // Initial capacity; the index grows by doubling (default 1024).
  size_t initial_capacity = 1024;
  // Seed of hnswlib's level generator (default 100): the same inserts in the
  // same order build the same graph.
  uint64_t seed = 100;
};

struct SearchParams {
  // Candidate list size while searching (default 64; raised to k when lower).
  // Higher: better recall, slower queries.
  size_t ef = 64;
  // Only labels for which filter(label) is true are returned (nullptr: all).
  // Filtered search widens the candidate list until k matches are found or
  // the whole index was considered, and switches to an exact scan when the
  // filter keeps few labels (see src/vindex/README.md).
  const std::function<bool(uint64_t)>* filter = nullptr;
  // Filtered search only: when the candidate list it would need (estimated
  // from the share of candidates passing the filter, or reached by doubling)
  // exceeds this fraction of the live labels, it scans the labels exactly
  // instead (default 0.1; 0..1). Lower: exact scans sooner (slower but exact
  // for selective filters); higher: longer approximate searches first.
  double exact_scan_fraction = 0.1;
};

struct SearchHit {
  uint64_t label = 0;
  float score = 0;  // cosine similarity, -1..1; higher is closer
  friend bool operator==(const SearchHit&, const SearchHit&) = default;
};

class VectorIndex {
 public:
  VectorIndex() = default;
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;
  virtual ~VectorIndex() = default;

  // InvalidArgument naming the option when out of range.
  static Result<std::unique_ptr<VectorIndex>> Create(const VectorIndexOptions& options);

  // Reads a snapshot written by SaveSnapshot. NotFound when the file does not
  // exist; Corruption (file and reason) when its checksum, header or body is
  // wrong. `sequence` receives the value given to SaveSnapshot.
  static Result<std::unique_ptr<VectorIndex>> LoadSnapshot(FileSystem& fs, const std::string& path,
                                                           uint64_t* sequence);

  // Inserts the vector under `label`, or replaces the one it has (a removed
  // label comes back). InvalidArgument when vector.size() != dimension.
  virtual Status Upsert(uint64_t label, std::span<const float> vector) = 0;

  // Removes `label` from results (hnswlib marks it deleted; its slot is reused
  // when the label is upserted again). OK when it is not in the index.
  virtual Status Remove(uint64_t label) = 0;

  // True when `label` is in the index and not removed.
  virtual bool Contains(uint64_t label) const = 0;

  // The k best labels by cosine similarity, best first (fewer when the index
  // holds fewer matching labels). InvalidArgument on a wrong dimension.
  virtual Result<std::vector<SearchHit>> Search(std::span<const float> query, size_t k,
                                                const SearchParams& params) const = 0;

  // The exact k best by a full scan (same ordering and filter semantics).
  virtual Result<std::vector<SearchHit>> SearchExact(std::span<const float> query, size_t k,
                                                     const SearchParams& params) const = 0;

  // Live (not removed) labels.
  virtual size_t size() const = 0;
  virtual const VectorIndexOptions& options() const = 0;

  // Writes the snapshot atomically (see the file comment) through `fs`.
  virtual Status SaveSnapshot(FileSystem& fs, const std::string& path, uint64_t sequence) const = 0;
};

}  // namespace tandem
