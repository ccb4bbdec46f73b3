// A tiny arithmetic expression language for derived table columns and reference curves in
// manifests: numbers, variables, + - * / ^, comparisons (< <= > >= == != give 1 or 0), && ||,
// parentheses and the functions log2 ln log10 sqrt abs ceil floor min max.
// Example: "q*log2(N)", "m*w >= q".  Evaluated in double precision: display only, never a verdict.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace attnbounds {

// Returns the variable's value, or nullopt when it is unknown or not a number.
using VariableLookup = std::function<std::optional<double>(const std::string& name)>;

// Throws std::invalid_argument on a syntax error (naming the expression); returns nullopt
// when a variable is missing (the cell then shows n/a).
std::optional<double> evaluate_expression(std::string_view expr, const VariableLookup& lookup);
// Checks the syntax only (every variable treated as 1); throws std::invalid_argument.
void validate_expression(std::string_view expr);

}  // namespace attnbounds
