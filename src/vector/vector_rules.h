// The rules every VectorStore backend applies the same way, whatever keeps
// its documents (the embedded RocksDB + hnswlib store here, PostgreSQL +
// pgvector in src/pgvector): which text an event embeds, which embedder
// errors are transient, how a batch's new texts are embedded with permanent
// refusals isolated, and the checks of a query and its filters. Keeping them
// in one place keeps the backends' outcomes, errors and digests equal.
//
// No RocksDB or hnswlib here: a backend may include this header alone.
//
// Thread safety: pure functions (EmbedNewTexts calls `embed` from the
// calling thread only).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/json_value.h"
#include "tandem/status.h"
#include "tandem/store.h"
#include "tandem/vector.h"

namespace tandem::vector_internal {

// The embedding text of an applied event (tandem/vector.h "What gets
// embedded"): text_for_embedding ("" = none); else the members of `payload`
// named by text_fields[entity_type] (strings, or arrays of strings, joined
// by " " in that order); else an update keeps `*live_text` (nullptr: the
// entity is missing or deleted); else none.
std::optional<std::string> EmbeddingText(
    const std::map<std::string, std::vector<std::string>>& text_fields, const StoreEvent& e,
    const store_internal::JsonValue& payload, const std::optional<std::string>* live_text);

// Embedder errors a retry may cure: everything but InvalidArgument,
// FailedPrecondition (e.g. a wrong dimension) and TooLarge.
bool IsTransientEmbedError(const Status& s);

// Embedder::Embed, plus the check that `out` holds dimension values per text
// (FailedPrecondition "dimension: ..." naming the model otherwise).
Status EmbedChecked(Embedder& embedder, size_t dimension, std::span<const std::string_view> texts,
                    std::vector<float>* out);

// Embeds the texts of `missing` (text key → text; the key is the backend's
// text hash) in one call of `embed` and stores each unit vector (empty: no
// features) in `vectors`. On a permanent error the texts are embedded one by
// one: refused ones go to `bad_texts` with the reason the event reports
// ("embedder: ..."), and *found_bad is set; a non-finite vector is refused
// the same way. A transient error is returned ("embedder: ...").
using EmbedFn = std::function<Status(std::span<const std::string_view>, std::vector<float>*)>;
Status EmbedNewTexts(const EmbedFn& embed, size_t dimension,
                     const std::map<std::string, std::string>& missing,
                     std::unordered_map<std::string, std::vector<float>>* vectors,
                     std::unordered_map<std::string, std::string>* bad_texts, bool* found_bad);

// InvalidArgument naming the field for a bad query: both or neither of
// text/vector, an empty text, k outside 1..10000, a vector of another
// dimension or with a non-finite value.
Status ValidateVectorQuery(const VectorQuery& q, size_t dimension);

// The query's vector as given, or its text embedded by `embedder`
// (FailedPrecondition when the embedder returns another dimension; its own
// errors with context "embedder"). Not normalised.
Result<std::vector<float>> QueryVector(Embedder& embedder, size_t dimension, const VectorQuery& q);

// Checks filter `index` of a query and returns its value as a JSON scalar:
// InvalidArgument "filters[i].field|value: ..." for an empty field, a value
// that is not JSON or not a scalar, or an ordering operator on a boolean or
// null. Semantics every backend keeps: numbers compare as doubles, strings
// bytewise, booleans and null by eq/ne only; a missing member or one of
// another type never matches, not even kNe.
Result<store_internal::JsonValue> ParseFieldFilter(const FieldFilter& f, size_t index);

}  // namespace tandem::vector_internal
