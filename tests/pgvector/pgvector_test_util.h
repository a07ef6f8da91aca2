// Openers of the pgvector store for the tests: each factory owns a fresh set
// of tables (a unique table prefix) in the test database (PGlite started by
// pglite_server.cc, or $TANDEM_PGVECTOR_URL), dropped when it is destroyed.
//
// Thread safety: test helpers for one thread.
#pragma once

#include <memory>
#include <string>

#include "../vector/vector_test_util.h"
#include "pglite_server.h"
#include "tandem/pgvector.h"

namespace tandem::pgvector_test {

inline PgVectorStoreOptions PgStoreOptions(const std::string& prefix, Embedder* e,
                                           Clock* clock = nullptr) {
  PgVectorStoreOptions o;
  o.url = TestDatabaseUrl();
  o.table_prefix = prefix;
  o.embedder = e;
  o.clock = clock;
  o.text_fields["widget"] = {"name"};
  o.text_fields["gadget"] = {"name", "tags"};
  return o;
}

// A fresh location: its own tables, dropped with the factory.
class PgLocation {
 public:
  PgLocation() : prefix_(UniqueTablePrefix()) {}
  ~PgLocation() {
    if (!TestDatabaseUrl().empty()) DropTables(TestDatabaseUrl(), prefix_);
  }
  PgLocation(const PgLocation&) = delete;
  PgLocation& operator=(const PgLocation&) = delete;
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

}  // namespace tandem::pgvector_test
