// RocksDB status → tandem Status, shared by the RocksDB-backed stores (graph,
// vector). Header-only so that the store module itself does not link
// RocksDB; include it only from code that does.
//
// Thread safety: pure function.
#pragma once

#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "tandem/status.h"

namespace tandem::store_internal {

// "rocksdb <what>: <message>" with the code mapped: NotFound, Corruption,
// NoSpace, Busy (busy, try again, incomplete), InvalidArgument, Aborted
// (aborted, shutting down), IOError otherwise.
inline Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  std::string m = "rocksdb " + std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(std::move(m));
  if (s.IsCorruption()) return Status::Corruption(std::move(m));
  if (s.IsNoSpace()) return Status::NoSpace(std::move(m));
  if (s.IsBusy() || s.IsTryAgain() || s.IsIncomplete()) return Status::Busy(std::move(m));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(m));
  if (s.IsAborted() || s.IsShutdownInProgress()) return Status::Aborted(std::move(m));
  return Status::IOError(std::move(m));
}

}  // namespace tandem::store_internal
