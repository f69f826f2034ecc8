// The canonical encoding of rows, keys and schemas in the store (specified in
// docs/store-format.md). Encoding is a pure function of the values: the same content always gives
// the same bytes, hence the same Git object ids. Decoding accepts exactly what encoding produces
// (plus insignificant YAML variation) and reports anything else as Code::kInvalid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/schema.h"
#include "store/status.h"
#include "store/value.h"

namespace cfgit {

// One row file: `column: value` lines in the order of `columns`.
std::string EncodeRow(const std::vector<std::string>& columns, const Row& row);
// Parses a row file into values ordered as `columns`; a column missing from the file is NULL.
// Files in the exact form EncodeRow writes are read by DecodeCanonicalRow, anything else by
// DecodeRowYaml; both give the same result for every input the first one accepts.
// `canonical`, when given, is set to whether the first one read it: the file is exactly as
// EncodeRow writes the row (the merge places such a file as it is).
Result<Row> DecodeRow(const std::vector<std::string>& columns, const std::string& text,
                      bool* canonical = nullptr);
// DecodeRow's two readers, exposed so that tests can hold them to the same answers.
// The fast one reads only the line-based form of store-format.md section 7 (one `key: value`
// line per column, the writer's quoting and escapes, `!!binary`/`!textbytes` base64, plain
// integers, reals, null, true, false); nullopt for anything else, errors included.
std::optional<Row> DecodeCanonicalRow(const std::vector<std::string>& columns,
                                      std::string_view text);
// The reader of record: any YAML that maps column names to scalars (store-format.md 7.5).
Result<Row> DecodeRowYaml(const std::vector<std::string>& columns, const std::string& text);

// The file name stem of a row: its key values, encoded reversibly and safe for any path
// (components joined by ','; see the spec). Names longer than kMaxKeyName are shortened with a
// hash; the full key is then recovered from the row file itself.
std::string EncodeKey(const Row& key_values);
// Decodes a stem made by EncodeKey. Fails for shortened names and keyless row names.
Result<Row> DecodeKey(const std::string& stem);
// The stem of a row of a keyless table: a hash of the encoded row, and the occurrence number
// (1 for the first copy of a row, 2 for its first duplicate, ...).
std::string KeylessName(const std::string& encoded_row, int occurrence);
// The two fan-out directory names ("3f", "a0") a row file lives under.
std::pair<std::string, std::string> FanoutDirs(const std::string& stem);
// The same as one number: the first directory's byte << 8 | the second's (0x3fa0).
uint32_t FanoutBucket(std::string_view stem);
// Table names and other free text as one path component (percent-encoding, reversible).
std::string EncodePathComponent(const std::string& text);
Result<std::string> DecodePathComponent(const std::string& component);

constexpr size_t kMaxKeyName = 180;

std::string EncodeSchema(const TableSchema& schema);
Result<TableSchema> DecodeSchema(const std::string& text);

// Whether text is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(const std::string& text);

// A Value in its row-file form (`42`, `1.5`, `'text'`, `null`, ...), also used in messages.
std::string EncodeValue(const Value& v);

}  // namespace cfgit
