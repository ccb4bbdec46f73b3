// A configuration field that is out of range or malformed.  The library names the field of its
// typed configuration ("N", "q", "semantics"); only the application maps fields to flags.
#pragma once
#include <stdexcept>
#include <string>

namespace attnbounds {

class ConfigError : public std::invalid_argument {
 public:
  ConfigError(std::string field, const std::string& message)
      : std::invalid_argument(message), field_(std::move(field)) {}
  // The configuration field at fault, e.g. "N" or "semantics".
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

}  // namespace attnbounds
