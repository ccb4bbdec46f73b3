// Dotted paths into a JSON result ("worst.value", "params.N", "rows[2].m", "witness.S[0]"),
// so that manifests and baselines can name the fields they read without code changes.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "checks/result_json.hpp"

namespace attnbounds {

// The value at `path`, or nullptr when any step is missing.  An empty path is `root` itself.
// A key that itself contains dots can be reached with brackets: ["p*"].
const json* find_path(const json& root, std::string_view path);
// Sets the value at a dotted path (object keys only), creating objects on the way.
void set_path(json& root, std::string_view path, json value);

// How a JSON value is shown in a table cell: strings verbatim, integers and doubles as
// printed by nlohmann (shortest round-trip), booleans as yes/no, arrays joined with ",",
// null as n/a, objects as compact JSON.
std::string display_value(const json& value);
// The value as an exact rational when it is a number or a numeric string ("0.1", "2/3").
std::optional<std::string> numeric_text(const json& value);

// Removes every object key in `keys` at any depth (used to drop `seconds` and `threads`).
void strip_keys(json& value, const std::vector<std::string>& keys);

}  // namespace attnbounds
