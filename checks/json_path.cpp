#include "json_path.hpp"

#include <algorithm>
#include <stdexcept>

#include "tables.hpp"

namespace attnbounds {

namespace {

// Splits "a.b[2][\"c.d\"]" into steps; an index step is marked by is_index.
struct Step {
  std::string key;
  bool is_index = false;
  std::size_t index = 0;
};

std::vector<Step> parse_path(std::string_view path) {
  std::vector<Step> steps;
  std::size_t i = 0;
  std::string key;
  auto flush = [&] {
    if (!key.empty()) steps.push_back({key, false, 0});
    key.clear();
  };
  while (i < path.size()) {
    char ch = path[i];
    if (ch == '.') {
      flush();
      ++i;
    } else if (ch == '[') {
      flush();
      std::size_t close = path.find(']', i);
      if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in path '" + std::string(path) + "'");
      std::string_view inner = path.substr(i + 1, close - i - 1);
      if (inner.size() >= 2 && (inner.front() == '"' || inner.front() == '\'') && inner.back() == inner.front()) {
        steps.push_back({std::string(inner.substr(1, inner.size() - 2)), false, 0});
      } else {
        if (inner.empty() || !std::all_of(inner.begin(), inner.end(), [](char c) { return c >= '0' && c <= '9'; }))
          throw std::invalid_argument("bad index [" + std::string(inner) + "] in path '" + std::string(path) + "'");
        steps.push_back({"", true, std::stoul(std::string(inner))});
      }
      i = close + 1;
    } else {
      key += ch;
      ++i;
    }
  }
  flush();
  return steps;
}

}  // namespace

const json* find_path(const json& root, std::string_view path) {
  const json* node = &root;
  for (const auto& step : parse_path(path)) {
    if (step.is_index) {
      if (!node->is_array() || step.index >= node->size()) return nullptr;
      node = &(*node)[step.index];
    } else {
      if (!node->is_object()) return nullptr;
      auto it = node->find(step.key);
      if (it == node->end()) return nullptr;
      node = &*it;
    }
  }
  return node;
}

void set_path(json& root, std::string_view path, json value) {
  json* node = &root;
  for (const auto& step : parse_path(path)) {
    if (step.is_index) throw std::invalid_argument("set_path: indices are not supported ('" + std::string(path) + "')");
    if (!node->is_object()) *node = json::object();
    node = &(*node)[step.key];
  }
  *node = std::move(value);
}

std::string display_value(const json& v) {
  if (v.is_null()) return kNotAvailable;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + display_value(v[i]);
    return out;
  }
  return v.dump();
}

std::optional<std::string> numeric_text(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_number_float()) return v.dump();
  if (v.is_string() && looks_numeric(v.get<std::string>())) return v.get<std::string>();
  return std::nullopt;
}

void strip_keys(json& v, const std::vector<std::string>& keys) {
  if (v.is_object()) {
    for (const auto& k : keys) v.erase(k);
    for (auto& child : v) strip_keys(child, keys);
  } else if (v.is_array()) {
    for (auto& child : v) strip_keys(child, keys);
  }
}

}  // namespace attnbounds
