// CheckInvariants of the PostgreSQL graph store: recomputes, from the
// vertex rows alone, every edge and placeholder flag the tables should hold
// and compares with what they hold. The label index and counts are derived
// by PostgreSQL (a generated column and its index), so only the rows that
// feed them are checked. Memory is O(vertices + edges): an audit, not a hot
// path.

#include <map>
#include <set>
#include <tuple>

#include "pggraph/pg_store.h"

namespace tandem::pggraph_internal {
namespace {

using EdgeCounts = std::map<std::tuple<std::string, std::string, std::string>, uint32_t>;

Status Broken(const std::string& what) { return Status::Corruption("pggraph invariant: " + what); }

std::string EdgeText(const std::tuple<std::string, std::string, std::string>& e) {
  return std::get<0>(e) + " -" + std::get<1>(e) + "-> " + std::get<2>(e);
}

}  // namespace

Status PgGraphStore::CheckInvariants() {
  return RunRead("check invariants", [&](pqxx::transaction_base& t) -> Status {
    EdgeCounts expected;
    std::map<std::string, Row> vertices;
    TANDEM_RETURN_IF_ERROR(ScanRows(t, "scan_all", "", "", [&](Row& r) -> Result<bool> {
      if (r.rev < 0) return Broken("vertex \"" + r.id + "\" has a negative rev");
      if (!r.has_marker && !r.referenced) {
        return Broken("vertex \"" + r.id + "\" is neither an entity nor referenced");
      }
      if (!r.live() && r.payload != "{}") {
        return Broken("vertex \"" + r.id + "\" is not live but holds a payload");
      }
      if (!r.has_marker && !r.entity_type.empty()) {
        return Broken("placeholder \"" + r.id + "\" has entity_type " + r.entity_type);
      }
      if (r.live()) {
        if (r.referenced) return Broken("live vertex \"" + r.id + "\" is flagged referenced");
        TANDEM_ASSIGN_OR_RETURN(std::vector<OwnRef> refs, OwnRefs(r));
        for (const OwnRef& ref : refs) {
          EdgeKey k = graph_internal::EdgeOf(r.id, ref);
          ++expected[{k.from, k.label, k.to}];
        }
      }
      std::string id = r.id;
      vertices.emplace(std::move(id), std::move(r));
      return true;
    }));

    EdgeCounts found;
    std::set<std::string> touched;
    std::tuple<std::string, std::string, std::string> after{"", "", ""};
    for (;;) {
      pqxx::result r =
          t.exec_prepared("scan_edges", std::get<0>(after), std::get<1>(after), std::get<2>(after),
                          static_cast<long long>(options_.scan_page_rows));
      for (const pqxx::row& pr : r) {
        after = {pr[0].as<std::string>(), pr[1].as<std::string>(), pr[2].as<std::string>()};
        const int64_t m = pr[3].as<int64_t>();
        if (m <= 0)
          return Broken("edge " + EdgeText(after) + " has multiplicity " + std::to_string(m));
        found[after] = static_cast<uint32_t>(m);
        touched.insert(std::get<0>(after));
        touched.insert(std::get<2>(after));
      }
      if (r.size() < options_.scan_page_rows) break;
    }

    for (const auto& [edge, m] : found) {
      auto it = expected.find(edge);
      if (it == expected.end())
        return Broken("edge " + EdgeText(edge) + " is declared by no live entity");
      if (it->second != m) {
        return Broken("edge " + EdgeText(edge) + " has multiplicity " + std::to_string(m) +
                      ", references say " + std::to_string(it->second));
      }
      for (const std::string* end : {&std::get<0>(edge), &std::get<2>(edge)}) {
        auto v = vertices.find(*end);
        if (v == vertices.end()) return Broken("edge " + EdgeText(edge) + " touches no vertex row");
        if (!v->second.live() && !v->second.referenced) {
          return Broken("edge " + EdgeText(edge) + " touches \"" + *end +
                        "\", which is neither live nor a placeholder");
        }
      }
    }
    for (const auto& [edge, m] : expected) {
      if (!found.contains(edge)) return Broken("declared edge " + EdgeText(edge) + " is missing");
    }
    for (const auto& [id, r] : vertices) {
      if (!r.live() && r.referenced != touched.contains(id)) {
        return Broken("vertex \"" + id +
                      "\" is flagged referenced=" + (r.referenced ? "true" : "false") + " but " +
                      (touched.contains(id) ? "has" : "has no") + " edges");
      }
    }
    return Status::OK();
  });
}

}  // namespace tandem::pggraph_internal
