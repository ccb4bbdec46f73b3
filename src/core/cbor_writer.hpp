// The few CBOR (RFC 8949) items the toolkit's binary files use, appended to a byte string: heads
// with their shortest argument, text strings, integers, booleans, definite and indefinite
// containers, and the self-describe tag 55799 that lets a reader recognise CBOR by its first bytes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace attnbounds::cbor {

inline void head(std::string& out, unsigned major, std::uint64_t n) {
  const char m = static_cast<char>(major << 5);
  if (n < 24) {
    out += static_cast<char>(m | static_cast<char>(n));
    return;
  }
  int bytes = n <= 0xFF ? 1 : n <= 0xFFFF ? 2 : n <= 0xFFFFFFFFu ? 4 : 8;
  out += static_cast<char>(m | static_cast<char>(bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27));
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
}
inline void unsigned_int(std::string& out, std::uint64_t v) { head(out, 0, v); }
inline void integer(std::string& out, std::int64_t v) {
  if (v >= 0) head(out, 0, static_cast<std::uint64_t>(v));
  else head(out, 1, static_cast<std::uint64_t>(-(v + 1)));
}
inline void text(std::string& out, std::string_view s) {
  head(out, 3, s.size());
  out.append(s);
}
inline void array(std::string& out, std::uint64_t n) { head(out, 4, n); }
inline void map(std::string& out, std::uint64_t n) { head(out, 5, n); }
inline void boolean(std::string& out, bool b) { out += static_cast<char>(b ? 0xF5 : 0xF4); }
inline void null(std::string& out) { out += static_cast<char>(0xF6); }
inline void begin_indefinite_array(std::string& out) { out += static_cast<char>(0x9F); }
inline void begin_indefinite_map(std::string& out) { out += static_cast<char>(0xBF); }
inline void end_indefinite(std::string& out) { out += static_cast<char>(0xFF); }
inline void float64(std::string& out, double d) {
  std::uint64_t bits;
  static_assert(sizeof bits == sizeof d);
  __builtin_memcpy(&bits, &d, sizeof bits);
  out += static_cast<char>(0xFB);
  for (int i = 7; i >= 0; --i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
}
// Tag 55799 on the item that follows: D9 D9 F7.
inline void self_describe(std::string& out) { out += "\xD9\xD9\xF7"; }
inline constexpr unsigned char kSelfDescribe[3] = {0xD9, 0xD9, 0xF7};

}  // namespace attnbounds::cbor
