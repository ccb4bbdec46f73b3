// Reading inputs safely: a path is opened without blocking (a FIFO never hangs the reader), and
// only a regular file within a size limit is accepted, before a single byte is read.  JSON text
// is parsed with a bounded nesting depth, so no input can exhaust the stack.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace attnbounds {

// Limits used by the toolkit's readers.
inline constexpr std::uint64_t kMaxTextInputBytes = std::uint64_t{256} << 20;   // manifests, baselines, inputs
inline constexpr std::uint64_t kMaxCertificateBytes = std::uint64_t{4} << 30;   // replayable certificates
inline constexpr int kMaxJsonDepth = 64;

// Throws std::invalid_argument("'<path>' ...") unless `path` names a regular file of at most
// max_bytes (directories, FIFOs, sockets and devices such as /dev/zero are refused).
void require_regular_input(const std::string& path, std::uint64_t max_bytes);
// The whole file, after require_regular_input; stops with an error if it grows past max_bytes.
std::string read_bounded_file(const std::string& path, std::uint64_t max_bytes);

// json::parse with objects and arrays nested at most max_depth deep; throws
// std::invalid_argument naming `origin` on malformed or too deeply nested text.
nlohmann::json parse_json_bounded(const std::string& text, const std::string& origin, int max_depth = kMaxJsonDepth);

}  // namespace attnbounds
