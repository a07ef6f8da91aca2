// Search: query validation, the query vector, per-type HNSW (or exact)
// search with a label filter that evaluates the payload filters, and the
// merge of the types' results by score.
//
// Filters read each candidate's document from one RocksDB snapshot (label →
// entity_id → document, two point reads served by the block cache) and keep
// the verdict per label for the rest of the query; nothing about payloads is
// held in memory between queries.

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "vector/rocks_vector_store.h"
#include "vector/vector_rules.h"

namespace tandem::vector_internal {
namespace {

using store_internal::JsonValue;

struct ParsedFilter {
  const FieldFilter* filter;
  JsonValue value;
  double number = 0;
};

Status ParseFilters(const std::vector<FieldFilter>& filters, std::vector<ParsedFilter>* out) {
  for (size_t i = 0; i < filters.size(); ++i) {
    TANDEM_ASSIGN_OR_RETURN(JsonValue v, ParseFieldFilter(filters[i], i));
    ParsedFilter p{&filters[i], std::move(v), 0};
    if (p.value.kind == JsonValue::Kind::kNumber) {
      p.number = std::strtod(p.value.text.c_str(), nullptr);
    }
    out->push_back(std::move(p));
  }
  return Status::OK();
}

template <typename T>
bool Holds(FieldFilter::Op op, const T& a, const T& b) {
  switch (op) {
    case FieldFilter::Op::kEq:
      return a == b;
    case FieldFilter::Op::kNe:
      return a != b;
    case FieldFilter::Op::kLt:
      return a < b;
    case FieldFilter::Op::kLe:
      return a <= b;
    case FieldFilter::Op::kGt:
      return a > b;
    case FieldFilter::Op::kGe:
      return a >= b;
  }
  return false;
}

// Whether the payload satisfies every filter; a member of another type than
// the filter value, or a missing one, never matches (not even for kNe).
bool Matches(const JsonValue& payload, const std::vector<ParsedFilter>& filters) {
  for (const ParsedFilter& f : filters) {
    const JsonValue* m = payload.Find(f.filter->field);
    if (m == nullptr || m->kind != f.value.kind) return false;
    bool ok = false;
    switch (m->kind) {
      case JsonValue::Kind::kNumber:
        ok = Holds(f.filter->op, std::strtod(m->text.c_str(), nullptr), f.number);
        break;
      case JsonValue::Kind::kString:
        ok = Holds(f.filter->op, std::string_view(m->text), std::string_view(f.value.text));
        break;
      case JsonValue::Kind::kBool:
        ok = Holds(f.filter->op, m->boolean, f.value.boolean);
        break;
      case JsonValue::Kind::kNull:
        ok = f.filter->op == FieldFilter::Op::kEq;
        break;
      default:
        ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

struct Resolved {
  bool match = false;
  std::string id;
  DocRecord doc;
};

}  // namespace

Status RocksVectorStore::ResolveLabel(const ReadView& view, uint64_t label,
                                      std::optional<DocRecord>* doc, std::string* id) const {
  doc->reset();
  std::optional<std::string> owner;
  TANDEM_RETURN_IF_ERROR(view.Get(LabelKey(label), &owner));
  if (!owner.has_value()) return Status::OK();
  *id = *owner;
  TANDEM_RETURN_IF_ERROR(view.LoadDoc(*owner, doc));
  if (doc->has_value() && (*doc)->label != label) doc->reset();
  return Status::OK();
}

Result<std::vector<VectorHit>> RocksVectorStore::Search(const VectorQuery& query) {
  TANDEM_RETURN_IF_ERROR(ValidateVectorQuery(query, dimension_));
  std::vector<ParsedFilter> filters;
  TANDEM_RETURN_IF_ERROR(ParseFilters(query.filters, &filters));
  TANDEM_ASSIGN_OR_RETURN(std::vector<float> qv, QueryVector(embedder_, dimension_, query));
  double norm = 0;
  for (float x : qv) norm += static_cast<double>(x) * x;
  if (norm == 0) return std::vector<VectorHit>{};  // no features: nothing is similar
  norm = std::sqrt(norm);
  for (float& x : qv) x = static_cast<float>(x / norm);

  ReadView view(*db_);
  std::mutex memo_mu;
  std::unordered_map<uint64_t, Resolved> memo;
  Status resolve_error;
  // The document behind a label, if it is still a live indexed document of `type`.
  auto resolve = [&](uint64_t label, const std::string& type) -> const Resolved& {
    std::lock_guard<std::mutex> lock(memo_mu);
    auto [it, inserted] = memo.try_emplace(label);
    if (!inserted) return it->second;
    std::optional<DocRecord> doc;
    Status s = ResolveLabel(view, label, &doc, &it->second.id);
    if (!s.ok()) {
      if (resolve_error.ok()) resolve_error = s;
      return it->second;
    }
    if (!doc.has_value() || !doc->has_vector || doc->entity_type != type) return it->second;
    if (!filters.empty()) {
      Result<JsonValue> payload = store_internal::ParseJson(doc->payload);
      if (!payload.ok() || !Matches(*payload, filters)) return it->second;
    }
    it->second.match = true;
    it->second.doc = std::move(*doc);
    return it->second;
  };

  struct Candidate {
    float score;
    const std::string* type;
    uint64_t label;
  };
  std::vector<Candidate> candidates;
  {
    std::shared_lock ilock(indexes_mu_);
    for (const auto& [type, ti] : indexes_) {
      if (!query.entity_types.empty() &&
          std::find(query.entity_types.begin(), query.entity_types.end(), type) ==
              query.entity_types.end()) {
        continue;
      }
      const std::string* type_ptr = &type;
      std::function<bool(uint64_t)> filter = [&, type_ptr](uint64_t label) {
        return resolve(label, *type_ptr).match;
      };
      SearchParams params;
      params.ef = query.ef != 0 ? query.ef : options_.hnsw_ef_search;
      params.filter = filters.empty() ? nullptr : &filter;
      Result<std::vector<SearchHit>> hits = query.exact ? ti.index->SearchExact(qv, query.k, params)
                                                        : ti.index->Search(qv, query.k, params);
      TANDEM_RETURN_IF_ERROR(hits.status());
      for (const SearchHit& h : *hits) candidates.push_back({h.score, type_ptr, h.label});
    }
    // Stable on ties: by type, then label, so equal scores come out in one order.
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      if (a.score != b.score) return a.score > b.score;
      if (*a.type != *b.type) return *a.type < *b.type;
      return a.label < b.label;
    });
    std::vector<VectorHit> out;
    for (const Candidate& c : candidates) {
      if (out.size() == query.k) break;
      const Resolved& r = resolve(c.label, *c.type);
      if (!r.match) continue;  // changed since the index saw it
      VectorHit hit;
      hit.entity_id = r.id;
      hit.entity_type = *c.type;
      hit.score = c.score;
      hit.payload = r.doc.payload;
      hit.text = r.doc.text.value_or("");
      out.push_back(std::move(hit));
    }
    TANDEM_RETURN_IF_ERROR(resolve_error);
    return out;
  }
}

}  // namespace tandem::vector_internal
