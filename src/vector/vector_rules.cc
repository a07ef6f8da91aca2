// The backend-independent vector store rules (vector_rules.h).

#include "vector/vector_rules.h"

#include <cmath>
#include <utility>

#include "vector/codec.h"

namespace tandem::vector_internal {

using store_internal::JsonValue;

namespace {
inline constexpr size_t kMaxK = 10'000;
}  // namespace

std::optional<std::string> EmbeddingText(
    const std::map<std::string, std::vector<std::string>>& text_fields, const StoreEvent& e,
    const JsonValue& payload, const std::optional<std::string>* live_text) {
  if (e.event.text_for_embedding.has_value()) {
    if (e.event.text_for_embedding->empty()) return std::nullopt;
    return *e.event.text_for_embedding;
  }
  if (auto it = text_fields.find(e.event.entity_type); it != text_fields.end()) {
    std::string joined;
    auto add = [&joined](const JsonValue& v) {
      if (v.kind != JsonValue::Kind::kString || v.text.empty()) return;
      if (!joined.empty()) joined.push_back(' ');
      joined.append(v.text);
    };
    for (const std::string& field : it->second) {
      const JsonValue* m = payload.Find(field);
      if (m == nullptr) continue;
      if (m->kind == JsonValue::Kind::kArray) {
        for (const JsonValue& el : m->elements) add(el);
      } else {
        add(*m);
      }
    }
    if (joined.empty()) return std::nullopt;
    return joined;
  }
  if (e.event.event_type == EventType::kUpdate && live_text != nullptr) return *live_text;
  return std::nullopt;
}

bool IsTransientEmbedError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kTooLarge:
      return false;
    default:
      return true;  // Unavailable, IOError, Busy, and anything unexpected: retry
  }
}

Status EmbedChecked(Embedder& embedder, size_t dimension, std::span<const std::string_view> texts,
                    std::vector<float>* out) {
  Status s = embedder.Embed(texts, out);
  if (s.ok() && out->size() != texts.size() * dimension) {
    s = Status::FailedPrecondition("dimension: embedder \"" + embedder.model_id() + "\" returned " +
                                   std::to_string(out->size()) + " values for " +
                                   std::to_string(texts.size()) + " texts of dimension " +
                                   std::to_string(dimension));
  }
  return s;
}

Status EmbedNewTexts(const EmbedFn& embed, size_t dimension,
                     const std::map<std::string, std::string>& missing,
                     std::unordered_map<std::string, std::vector<float>>* vectors,
                     std::unordered_map<std::string, std::string>* bad_texts, bool* found_bad) {
  *found_bad = false;
  if (missing.empty()) return Status::OK();
  std::vector<std::string_view> texts;
  std::vector<const std::string*> keys;
  for (const auto& [key, text] : missing) {
    texts.push_back(text);
    keys.push_back(&key);
  }
  auto keep = [&](size_t i, std::vector<float> v) {
    if (!NormalizeVector(&v)) {
      (*bad_texts)[*keys[i]] = "text_for_embedding: the embedder returned a non-finite value";
      *found_bad = true;
      return;
    }
    (*vectors)[*keys[i]] = std::move(v);
  };
  std::vector<float> out;
  Status s = embed(texts, &out);
  if (s.ok()) {
    for (size_t i = 0; i < texts.size(); ++i) {
      keep(i, std::vector<float>(out.begin() + static_cast<ptrdiff_t>(i * dimension),
                                 out.begin() + static_cast<ptrdiff_t>((i + 1) * dimension)));
    }
    return Status::OK();
  }
  if (IsTransientEmbedError(s)) return s.WithContext("embedder");
  // Permanent: find the texts it refuses, one at a time.
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<float> one;
    Status si = texts.size() == 1 ? s : embed({&texts[i], 1}, &one);
    if (si.ok()) {
      keep(i, std::move(one));
    } else if (IsTransientEmbedError(si)) {
      return si.WithContext("embedder");
    } else {
      (*bad_texts)[*keys[i]] = "embedder: " + si.ToString();
      *found_bad = true;
    }
  }
  return Status::OK();
}

Status ValidateVectorQuery(const VectorQuery& q, size_t dimension) {
  if (q.text.has_value() == q.vector.has_value()) {
    return Status::InvalidArgument("text: exactly one of text and vector must be set");
  }
  if (q.k < 1 || q.k > kMaxK) {
    return Status::InvalidArgument("k: must be 1.." + std::to_string(kMaxK) + ", got " +
                                   std::to_string(q.k));
  }
  if (q.vector.has_value()) {
    if (q.vector->size() != dimension) {
      return Status::InvalidArgument("vector: has " + std::to_string(q.vector->size()) +
                                     " values, the store's dimension is " +
                                     std::to_string(dimension));
    }
    for (float x : *q.vector) {
      if (!std::isfinite(x)) return Status::InvalidArgument("vector: holds a non-finite value");
    }
  }
  if (q.text.has_value() && q.text->empty()) {
    return Status::InvalidArgument("text: must not be empty");
  }
  return Status::OK();
}

Result<std::vector<float>> QueryVector(Embedder& embedder, size_t dimension, const VectorQuery& q) {
  if (!q.text.has_value()) return *q.vector;
  std::vector<float> qv;
  std::string_view t = *q.text;
  TANDEM_RETURN_IF_ERROR(embedder.Embed({&t, 1}, &qv).WithContext("embedder"));
  if (qv.size() != dimension) {
    return Status::FailedPrecondition("dimension: the embedder returned " +
                                      std::to_string(qv.size()) + " values, expected " +
                                      std::to_string(dimension));
  }
  return qv;
}

Result<JsonValue> ParseFieldFilter(const FieldFilter& f, size_t index) {
  const std::string where = "filters[" + std::to_string(index) + "]";
  if (f.field.empty()) return Status::InvalidArgument(where + ".field: must not be empty");
  Result<JsonValue> v = store_internal::ParseJson(f.value);
  if (!v.ok()) {
    return Status::InvalidArgument(where + ".value: not JSON (" + v.status().message() + ")");
  }
  const bool ordered = f.op != FieldFilter::Op::kEq && f.op != FieldFilter::Op::kNe;
  switch (v->kind) {
    case JsonValue::Kind::kNumber:
    case JsonValue::Kind::kString:
      return v;
    case JsonValue::Kind::kBool:
    case JsonValue::Kind::kNull:
      if (ordered) {
        return Status::InvalidArgument(
            where + ".value: " + std::string(store_internal::JsonKindName(v->kind)) +
            " supports only eq and ne");
      }
      return v;
    default:
      return Status::InvalidArgument(where + ".value: must be a JSON scalar, not an " +
                                     std::string(store_internal::JsonKindName(v->kind)));
  }
}

}  // namespace tandem::vector_internal
