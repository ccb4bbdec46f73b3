#include "enumerate/parallel.hpp"

#include <glpk.h>
#include <mpfr.h>

#include "core/config_error.hpp"
#include "numeric/format.hpp"

namespace attnbounds {

void release_thread_resources() {
  mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
  // GLPK creates an environment per thread on first use (the LPs of Theorem 2) and keeps it in
  // thread-local storage; glp_free_env frees it and is a no-op on a thread that never used GLPK.
  glp_free_env();
}

namespace {
constexpr char kSep = '\x1f';  // between the fields of an encoded error
}

std::string encode_chunk_error(const std::exception_ptr& error) {
  auto text = [](char kind, const std::string& extra, const char* what) {
    return std::string(1, kind) + kSep + extra + kSep + what;
  };
  try {
    std::rethrow_exception(error);
  } catch (const FormatRangeError& e) {
    return text('F', e.hint(), e.what());
  } catch (const ConfigError& e) {
    return text('C', e.field(), e.what());
  } catch (const std::invalid_argument& e) {
    return text('I', "", e.what());
  } catch (const std::logic_error& e) {
    return text('L', "", e.what());
  } catch (const std::exception& e) {
    return text('R', "", e.what());
  } catch (...) {
    return text('R', "", "an exception of unknown type in a chunk");
  }
}

void throw_chunk_error(const std::string& text) {
  const std::size_t a = text.find(kSep), b = a == std::string::npos ? a : text.find(kSep, a + 1);
  if (a != 1 || b == std::string::npos) throw std::logic_error("parallel_reduce: malformed shared chunk error");
  const std::string extra = text.substr(a + 1, b - a - 1), what = text.substr(b + 1);
  switch (text[0]) {
    case 'F': throw FormatRangeError(what, extra);
    case 'C': throw ConfigError(extra, what);
    case 'I': throw std::invalid_argument(what);
    case 'L': throw std::logic_error(what);
    default: throw std::runtime_error(what);
  }
}

}  // namespace attnbounds
