#include "core/atomic_file.hpp"
#include "modelfile/safetensors.hpp"

#include <fcntl.h>
#include <mpfr.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace attnbounds {

using json = nlohmann::json;

namespace {

// Names and messages go on one line: control characters are shown as \xNN.
std::string printable(const std::string& s, std::size_t max_len = 120) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string tensor_field(const std::string& name) { return "tensor '" + printable(name) + "'"; }

}  // namespace

ModelFileError::ModelFileError(std::string file, std::string field, const std::string& message)
    : std::invalid_argument(printable(file, 400) + ": " + printable(field, 400) + ": " + printable(message, 600)),
      file_(std::move(file)),
      field_(std::move(field)) {}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F64: return "F64";
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
    case DType::U8: return "U8";
  }
  return "?";
}

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64: return 8;
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::U8: return 1;
  }
  return 1;
}

std::uint64_t Tensor::elements() const {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

struct MiniFloat {
  int mant_bits, exp_bits;
};
MiniFloat layout_of(DType t) {
  switch (t) {
    case DType::F32: return {23, 8};
    case DType::BF16: return {7, 8};
    case DType::F16: return {10, 5};
    default: return {52, 11};
  }
}

// Nearest (ties to even) encoding of a finite double; false when it overflows the format.
bool encode_minifloat(double x, MiniFloat f, std::uint32_t* bits) {
  const std::uint32_t sign = std::signbit(x) ? 1u << (f.mant_bits + f.exp_bits) : 0u;
  const double a = std::fabs(x);
  if (a == 0) {
    *bits = sign;
    return true;
  }
  const int bias = (1 << (f.exp_bits - 1)) - 1, emin = 1 - bias, emax = bias;
  int e = 0;
  std::frexp(a, &e);
  e -= 1;  // a in [2^e, 2^(e+1))
  if (e < emin) {
    // Subnormal: a count of 2^(emin - mant_bits); a carry into 2^mant_bits is the smallest normal.
    const double m = std::nearbyint(std::ldexp(a, f.mant_bits - emin));
    *bits = sign | static_cast<std::uint32_t>(m);
    return true;
  }
  double m = std::nearbyint(std::ldexp(a, f.mant_bits - e));
  if (m == std::ldexp(1.0, f.mant_bits + 1)) {
    m = std::ldexp(1.0, f.mant_bits);
    e += 1;
  }
  if (e > emax) return false;
  *bits = sign | (static_cast<std::uint32_t>(e + bias) << f.mant_bits) |
          (static_cast<std::uint32_t>(m) - (1u << f.mant_bits));
  return true;
}

// Exact value of an encoding; false for infinity or NaN.
bool decode_minifloat(std::uint32_t bits, MiniFloat f, double* out) {
  const int bias = (1 << (f.exp_bits - 1)) - 1;
  const std::uint32_t mant = bits & ((1u << f.mant_bits) - 1);
  const std::uint32_t expo = (bits >> f.mant_bits) & ((1u << f.exp_bits) - 1);
  const bool neg = (bits >> (f.mant_bits + f.exp_bits)) & 1u;
  if (expo == (1u << f.exp_bits) - 1) return false;
  double v = expo == 0 ? std::ldexp(static_cast<double>(mant), 1 - bias - f.mant_bits)
                       : std::ldexp(static_cast<double>(mant + (1u << f.mant_bits)),
                                    static_cast<int>(expo) - bias - f.mant_bits);
  *out = neg ? -v : v;
  return true;
}

std::uint64_t load_le(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}
void store_le(unsigned char* p, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

// Decodes entry i; false for infinity or NaN.
bool decode_entry(const Tensor& t, std::uint64_t i, double* out) {
  const std::size_t w = dtype_size(t.dtype);
  const std::uint64_t raw = load_le(t.bytes.data() + i * w, w);
  if (t.dtype == DType::F64) {
    double v;
    std::memcpy(&v, &raw, sizeof v);
    *out = v;
    return std::isfinite(v);
  }
  return decode_minifloat(static_cast<std::uint32_t>(raw), layout_of(t.dtype), out);
}

bool parse_dtype(const std::string& s, DType* t) {
  static const std::pair<const char*, DType> kAll[] = {
      {"F64", DType::F64}, {"F32", DType::F32}, {"BF16", DType::BF16}, {"F16", DType::F16}, {"U8", DType::U8}};
  for (const auto& [n, d] : kAll)
    if (s == n) {
      *t = d;
      return true;
    }
  return false;
}

std::vector<ExactReal> parse_exact_companion(const std::string& file, const std::string& name, const Tensor& t,
                                             std::uint64_t expected) {
  const std::string field = tensor_field(name + ".exact");
  std::vector<ExactReal> out;
  out.reserve(std::min<std::uint64_t>(expected, 1u << 20));
  const std::string text(t.bytes.begin(), t.bytes.end());
  std::size_t pos = 0;
  if (text.empty() && expected == 0) return out;
  while (true) {
    std::size_t sp = text.find(' ', pos);
    std::string tok = text.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
    std::optional<ExactReal> r = parse_exact_real(tok);
    if (!r)
      throw ModelFileError(file, field,
                           "entry " + std::to_string(out.size()) + " '" + printable(tok, 40) +
                               "' is not a canonical rational (-?digits or -?p/q in lowest terms, single spaces between)"
                               " or trigonometric entry (B*cos(2pi*r/M), A+B*sin(2pi*r/M), ...)");
    out.push_back(std::move(*r));
    if (out.size() > expected) break;
    if (sp == std::string::npos) break;
    pos = sp + 1;
  }
  if (out.size() != expected)
    throw ModelFileError(file, field,
                         "holds " + std::string(out.size() > expected ? "more than " : "") + std::to_string(out.size()) +
                             " entries but '" + printable(name) + "' has " + std::to_string(expected));
  return out;
}

const std::uint64_t* get_uint(const json& v) { return v.get_ptr<const json::number_unsigned_t*>(); }

}  // namespace

double nearest_double(const Rational& x) {
  // Double's exponent range, so that subnormal results are rounded once.
  const mpfr_exp_t old_min = mpfr_get_emin(), old_max = mpfr_get_emax();
  mpfr_set_emin(-1073);
  mpfr_set_emax(1024);
  mpfr_t v;
  mpfr_init2(v, 53);
  int inex = mpfr_set_q(v, x.get_mpq_t(), MPFR_RNDN);
  inex = mpfr_check_range(v, inex, MPFR_RNDN);
  mpfr_subnormalize(v, inex, MPFR_RNDN);
  const double d = mpfr_get_d(v, MPFR_RNDN);
  mpfr_clear(v);
  mpfr_set_emin(old_min);
  mpfr_set_emax(old_max);
  return d;
}

SafetensorsFile parse_safetensors(const std::string& file, const unsigned char* data, std::size_t size,
                                  const ReadLimits& limits) {
  if (size < 8) throw ModelFileError(file, "header length", "file has " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  const std::uint64_t hlen = load_le(data, 8);
  if (hlen > limits.max_header_bytes)
    throw ModelFileError(file, "header length", std::to_string(hlen) + " bytes exceeds the limit of " +
                                                    std::to_string(limits.max_header_bytes));
  if (hlen > size - 8)
    throw ModelFileError(file, "header length", std::to_string(hlen) + " bytes but only " + std::to_string(size - 8) +
                                                    " bytes follow the length field (truncated file)");
  if (hlen < 2) throw ModelFileError(file, "header", "is " + std::to_string(hlen) + " bytes; a JSON object needs at least 2");
  const char* hbeg = reinterpret_cast<const char*>(data + 8);
  const unsigned char* body = data + 8 + hlen;
  const std::uint64_t body_size = size - 8 - hlen;

  // Duplicate keys would let one entry hide another; nesting is bounded before it can hurt.
  std::vector<std::set<std::string>> keys;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) -> bool {
    if (ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) {
      if (depth > 4) throw ModelFileError(file, "header", "JSON nested deeper than 4 levels");
      if (ev == json::parse_event_t::object_start) keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty()) {
      const std::string k = parsed.get<std::string>();
      if (!keys.back().insert(k).second) throw ModelFileError(file, "header", "duplicate key '" + printable(k) + "'");
    }
    return true;
  };
  json header;
  try {
    header = json::parse(hbeg, hbeg + hlen, cb);
  } catch (const ModelFileError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelFileError(file, "header", std::string("not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw ModelFileError(file, "header", "must be a JSON object");

  SafetensorsFile out;
  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  if (header.size() > limits.max_tensors + 1)
    throw ModelFileError(file, "header", std::to_string(header.size()) + " entries exceed the limit of " +
                                             std::to_string(limits.max_tensors) + " tensors");
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw ModelFileError(file, "__metadata__", "must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw ModelFileError(file, "__metadata__." + k, "must be a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string field = tensor_field(name);
    if (name.empty() || name.size() > 256) throw ModelFileError(file, field, "name must have 1..256 characters");
    if (!entry.is_object()) throw ModelFileError(file, field, "must be an object with dtype, shape, data_offsets");
    for (const auto& [k, v] : entry.items())
      if (k != "dtype" && k != "shape" && k != "data_offsets")
        throw ModelFileError(file, field + "." + k, "unknown field (allowed: dtype, shape, data_offsets)");
    Tensor t;
    if (!entry.contains("dtype") || !entry["dtype"].is_string())
      throw ModelFileError(file, field + ".dtype", "missing or not a string");
    if (!parse_dtype(entry["dtype"].get<std::string>(), &t.dtype))
      throw ModelFileError(file, field + ".dtype",
                           "unknown dtype '" + printable(entry["dtype"].get<std::string>(), 20) +
                               "' (allowed: F64, F32, BF16, F16, U8)");
    if (!entry.contains("shape") || !entry["shape"].is_array())
      throw ModelFileError(file, field + ".shape", "missing or not an array");
    if (entry["shape"].size() > limits.max_rank)
      throw ModelFileError(file, field + ".shape", "rank " + std::to_string(entry["shape"].size()) + " exceeds " +
                                                       std::to_string(limits.max_rank));
    std::uint64_t elements = 1;
    for (const auto& d : entry["shape"]) {
      const std::uint64_t* v = get_uint(d);
      if (!v) throw ModelFileError(file, field + ".shape", "dimensions must be non-negative integers");
      if (*v > limits.max_elements || (elements != 0 && *v > limits.max_elements / std::max<std::uint64_t>(elements, 1)))
        throw ModelFileError(file, field + ".shape", "more than " + std::to_string(limits.max_elements) + " entries");
      elements *= *v;
      t.shape.push_back(*v);
    }
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw ModelFileError(file, field + ".data_offsets", "must be an array [begin, end]");
    const std::uint64_t* b = get_uint(entry["data_offsets"][0]);
    const std::uint64_t* e = get_uint(entry["data_offsets"][1]);
    if (!b || !e) throw ModelFileError(file, field + ".data_offsets", "must be non-negative integers");
    if (*b > *e || *e > body_size)
      throw ModelFileError(file, field + ".data_offsets",
                           "[" + std::to_string(*b) + ", " + std::to_string(*e) + "] outside the data region of " +
                               std::to_string(body_size) + " bytes");
    const std::uint64_t need = elements * dtype_size(t.dtype);
    if (*e - *b != need)
      throw ModelFileError(file, field + ".data_offsets",
                           "span of " + std::to_string(*e - *b) + " bytes, but shape and dtype need " + std::to_string(need));
    t.bytes.assign(body + *b, body + *e);
    spans.push_back({*b, *e, name});
    out.tensors.emplace(name, std::move(t));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  for (const auto& s : spans) {
    if (s.begin < at) throw ModelFileError(file, tensor_field(s.name) + ".data_offsets", "overlaps another tensor");
    if (s.begin > at)
      throw ModelFileError(file, tensor_field(s.name) + ".data_offsets",
                           "leaves bytes " + std::to_string(at) + ".." + std::to_string(s.begin) + " of the data region unused");
    at = s.end;
  }
  if (at != body_size)
    throw ModelFileError(file, "data", std::to_string(body_size - at) + " trailing bytes belong to no tensor");

  for (const auto& [name, t] : out.tensors) {
    if (t.dtype == DType::U8) continue;
    for (std::uint64_t i = 0; i < t.elements(); ++i) {
      double v;
      if (!decode_entry(t, i, &v))
        throw ModelFileError(file, tensor_field(name), "entry " + std::to_string(i) + " is NaN or infinite");
    }
  }
  for (const auto& [name, t] : out.tensors) {
    const std::string suffix = ".exact";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string base = name.substr(0, name.size() - suffix.size());
    auto it = out.tensors.find(base);
    if (t.dtype != DType::U8 || t.shape.size() != 1)
      throw ModelFileError(file, tensor_field(name), "an exact companion must be a rank-1 U8 array of ASCII rationals");
    if (it == out.tensors.end())
      throw ModelFileError(file, tensor_field(name), "companion of a missing tensor '" + printable(base) + "'");
    if (it->second.dtype != DType::F64)
      throw ModelFileError(file, tensor_field(base), "has an exact companion, so it must be F64 (nearest doubles)");
    std::vector<ExactReal> exact = parse_exact_companion(file, base, t, it->second.elements());
    for (std::uint64_t i = 0; i < exact.size(); ++i) {
      double v;
      decode_entry(it->second, i, &v);
      if (v != nearest_double(exact[i]))
        throw ModelFileError(file, tensor_field(base),
                             "entry " + std::to_string(i) + " is not the nearest double of its exact value " +
                                 printable(exact[i].text(), 60));
    }
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path, const ReadLimits& limits) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked before reading.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw ModelFileError(path, "file", std::string("cannot open: ") + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw ModelFileError(path, "file", std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw ModelFileError(path, "file", "not a regular file");
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (size > limits.max_file_bytes)
    throw ModelFileError(path, "file", std::to_string(size) + " bytes exceeds the limit of " +
                                           std::to_string(limits.max_file_bytes));
  std::vector<unsigned char> buf(size);
  std::uint64_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, buf.data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ModelFileError(path, "file", std::string("read error: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::uint64_t>(n);
  }
  if (got != size) throw ModelFileError(path, "file", "changed size while being read");
  return parse_safetensors(path, buf.data(), buf.size(), limits);
}

std::vector<unsigned char> serialize_safetensors(const SafetensorsFile& f) {
  json header = json::object();
  if (!f.metadata.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : f.metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::uint64_t at = 0;
  for (const auto& [name, t] : f.tensors) {
    if (t.bytes.size() != t.elements() * dtype_size(t.dtype))
      throw std::logic_error("serialize_safetensors: tensor '" + name + "' bytes do not match its shape");
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {at, at + t.bytes.size()}}};
    at += t.bytes.size();
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h.push_back(' ');
  std::vector<unsigned char> out(8 + h.size());
  store_le(out.data(), h.size(), 8);
  std::memcpy(out.data() + 8, h.data(), h.size());
  out.reserve(out.size() + at);
  for (const auto& [name, t] : f.tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

// Through AtomicFile: complete or absent, fsync'ed, and a target that is not a regular file
// (/dev/stdout, /dev/full) is written in place instead of being replaced by a rename.  Throws
// OutputError naming the path.
void write_safetensors(const std::string& path, const SafetensorsFile& f) {
  const std::vector<unsigned char> bytes = serialize_safetensors(f);
  write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Tensor make_float_tensor(const std::string& file, const std::string& name, DType dtype,
                         std::vector<std::uint64_t> shape, const std::vector<double>& values) {
  if (dtype == DType::U8) throw std::logic_error("make_float_tensor: U8 is not a float dtype");
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (t.elements() != values.size()) throw std::logic_error("make_float_tensor: shape does not match the values");
  const std::size_t w = dtype_size(dtype);
  t.bytes.resize(values.size() * w);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) throw ModelFileError(file, tensor_field(name), "entry " + std::to_string(i) + " is not finite");
    std::uint64_t raw;
    if (dtype == DType::F64) {
      std::memcpy(&raw, &v, sizeof v);
    } else {
      std::uint32_t bits;
      if (!encode_minifloat(v, layout_of(dtype), &bits))
        throw ModelFileError(file, tensor_field(name),
                             "entry " + std::to_string(i) + " overflows " + dtype_name(dtype));
      raw = bits;
    }
    store_le(t.bytes.data() + i * w, raw, w);
  }
  return t;
}

void add_exact_real_tensor(SafetensorsFile& f, const std::string& name, std::vector<std::uint64_t> shape,
                           const std::vector<ExactReal>& values) {
  std::vector<double> nearest;
  nearest.reserve(values.size());
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    nearest.push_back(nearest_double(values[i]));
    if (i) text.push_back(' ');
    text += values[i].text();
  }
  f.tensors[name] = make_float_tensor("(model)", name, DType::F64, std::move(shape), nearest);
  Tensor ex;
  ex.dtype = DType::U8;
  ex.shape = {text.size()};
  ex.bytes.assign(text.begin(), text.end());
  f.tensors[name + ".exact"] = std::move(ex);
}

void add_exact_tensor(SafetensorsFile& f, const std::string& name, std::vector<std::uint64_t> shape,
                      const std::vector<Rational>& values) {
  add_exact_real_tensor(f, name, std::move(shape), std::vector<ExactReal>(values.begin(), values.end()));
}

std::vector<double> tensor_doubles(const std::string& file, const std::string& name, const Tensor& t) {
  if (t.dtype == DType::U8) throw ModelFileError(file, tensor_field(name), "is U8, expected a float dtype");
  std::vector<double> out(t.elements());
  for (std::uint64_t i = 0; i < out.size(); ++i)
    if (!decode_entry(t, i, &out[i]))
      throw ModelFileError(file, tensor_field(name), "entry " + std::to_string(i) + " is NaN or infinite");
  return out;
}

std::vector<ExactReal> tensor_exact_reals(const std::string& file, const SafetensorsFile& f, const std::string& name) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end()) throw ModelFileError(file, tensor_field(name), "missing");
  auto ex = f.tensors.find(name + ".exact");
  if (ex != f.tensors.end()) return parse_exact_companion(file, name, ex->second, it->second.elements());
  std::vector<double> d = tensor_doubles(file, name, it->second);
  std::vector<ExactReal> out;
  out.reserve(d.size());
  for (double v : d) out.emplace_back(Rational(v));  // mpq from a double is exact
  return out;
}

std::vector<Rational> tensor_exact(const std::string& file, const SafetensorsFile& f, const std::string& name) {
  std::vector<ExactReal> reals = tensor_exact_reals(file, f, name);
  std::vector<Rational> out;
  out.reserve(reals.size());
  for (std::size_t i = 0; i < reals.size(); ++i) {
    if (!reals[i].is_rational())
      throw ModelFileError(file, tensor_field(name + ".exact"),
                           "entry " + std::to_string(i) + " '" + printable(reals[i].text(), 40) +
                               "' is trigonometric; this tensor must hold rationals");
    out.push_back(std::move(reals[i].constant));
  }
  return out;
}

}  // namespace attnbounds
