// MemStore: the reference model of the store contract, held in memory. It
// implements nothing but the contract (no graph, no vectors), with the same
// helpers every store uses, so it is the oracle that store tests compare
// against and the second implementation the typed contract suite runs on.
//
//   MemStoreData data;  // the "disk": outlives stores, survives a reopen
//   std::unique_ptr<Store> s = NewMemStore(data, {.clock = &clock});
//
// Durability: none beyond `data`, which a new MemStore over the same object
// sees as a reopened store sees its files.
//
// Thread safety: safe for concurrent use (one mutex). `data` must not be
// touched by anything else while a store uses it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "tandem/env.h"
#include "tandem/store.h"

namespace tandem {

struct MemStoreData {
  std::map<std::string, EntityState, std::less<>> entities;
  PositionMap positions;
};

struct MemStoreOptions {
  // Clock for applied_at_us and tombstone expiry; nullptr = SystemClock().
  Clock* clock = nullptr;
  // Tombstones older than this (by `clock`) stop refusing stale events
  // (default 7 days; < 0 = forever). See docs/store_contract.md.
  int64_t tombstone_retention_us = int64_t{7} * 24 * 3600 * 1'000'000;
};

// `data` must outlive the store.
std::unique_ptr<Store> NewMemStore(MemStoreData& data, const MemStoreOptions& options = {});

}  // namespace tandem
