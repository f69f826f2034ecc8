// The text forms the PostgreSQL adapter exchanges with the server, as pure functions: lines of
// COPY's text format (read by Scan, written for bulk changes), bytea's hex form, and the text of
// a double that reads back as the same double. No pqxx here, so the rules are unit-tested
// without a server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"

namespace cfgit::pg {

// One field of a COPY line: the value's text form, or nullopt for NULL (\N).
using CopyField = std::optional<std::string>;

// Splits one line of COPY ... TO STDOUT (text format, a trailing newline allowed) into its
// fields, undoing the escapes (\b \f \n \r \t \v \\, \ooo octal, \xHH hex, \c for any other c).
// A line that ends inside an escape is kInvalid. `fields` is reused: the fields it holds are
// assigned (keeping their strings' room), and it is cut to the line's number of fields.
Status ParseCopyLine(std::string_view line, std::vector<CopyField>* fields);

// Appends one field for COPY ... FROM STDIN: \N for NULL, else the text with backslash, tab,
// newline and carriage return escaped. Fields are separated by '\t' by the caller.
void AppendCopyField(const CopyField& field, std::string* line);

// bytea's hex output ("\x00ff") to bytes, and bytes to it. Decoding fails on anything else
// (the session sets bytea_output = hex, so the escape format never comes back).
Result<std::string> DecodeByteaHex(std::string_view text);
std::string EncodeByteaHex(std::string_view bytes);

// A float8/float4's text form (extra_float_digits = 3: shortest exact; NaN, Infinity,
// -Infinity) to a double, and a double to the shortest text that reads back as it.
Result<double> ParseFloat(std::string_view text);
std::string FormatFloat(double value);

// A bigint/integer/smallint's text form to its value.
Result<int64_t> ParseInteger(std::string_view text);

}  // namespace cfgit::pg
