// safetensors files (an 8-byte little-endian header length, a JSON header, raw little-endian
// arrays), read and written with nlohmann-json and plain I/O.  The reader is strict: every byte
// of the data region belongs to exactly one tensor, shapes match byte sizes, sizes are bounded
// before anything is allocated, and floating-point arrays hold no NaN or infinity.
//
// Exact arrays: a tensor NAME of dtype F64 may have a companion tensor "NAME.exact" of dtype U8
// holding ASCII exact reals ("-3/4", "12", "5/2*cos(2pi*3/16)", exact_real.hpp) separated by single spaces, one per entry of NAME in
// row-major order; NAME then holds the nearest double of each entry (checked on read), so tools
// that ignore the companion still see the right numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "modelfile/exact_real.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

// A malformed or unacceptable model file.  what() is one line: "FILE: FIELD: message".
class ModelFileError : public std::invalid_argument {
 public:
  ModelFileError(std::string file, std::string field, const std::string& message);
  const std::string& file() const { return file_; }
  const std::string& field() const { return field_; }

 private:
  std::string file_, field_;
};

enum class DType { F64, F32, BF16, F16, U8 };
const char* dtype_name(DType t);
std::size_t dtype_size(DType t);

struct Tensor {
  DType dtype = DType::F64;
  std::vector<std::uint64_t> shape;  // empty: a scalar
  std::vector<unsigned char> bytes;  // little-endian, row-major
  std::uint64_t elements() const;
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // the header's "__metadata__"
  std::map<std::string, Tensor> tensors;
};

struct ReadLimits {
  std::uint64_t max_file_bytes = 1ULL << 30;
  std::uint64_t max_header_bytes = 16ULL << 20;
  std::uint64_t max_elements = 1ULL << 27;  // per tensor
  std::size_t max_rank = 8;
  std::size_t max_tensors = 4096;
};

// Parses the bytes of a file; `file` names it in errors.  Throws ModelFileError.
SafetensorsFile parse_safetensors(const std::string& file, const unsigned char* data, std::size_t size,
                                  const ReadLimits& limits = {});
// Reads a regular file (a FIFO, device or directory is refused without blocking).
SafetensorsFile read_safetensors(const std::string& path, const ReadLimits& limits = {});

// The file's bytes: tensors in name order, header padded with spaces to a multiple of 8.
std::vector<unsigned char> serialize_safetensors(const SafetensorsFile& f);
// Writes through AtomicFile (complete or absent; a device such as /dev/full is written in place,
// never replaced).  Throws OutputError naming the path.
void write_safetensors(const std::string& path, const SafetensorsFile& f);

// Float tensors from values; throws ModelFileError (field `name`) when a value is not finite or
// overflows the dtype.  Values are rounded to nearest, ties to even.
Tensor make_float_tensor(const std::string& file, const std::string& name, DType dtype,
                         std::vector<std::uint64_t> shape, const std::vector<double>& values);
// Adds NAME (F64, nearest doubles) and NAME.exact (the exact values) to f.
void add_exact_tensor(SafetensorsFile& f, const std::string& name, std::vector<std::uint64_t> shape,
                      const std::vector<Rational>& values);
void add_exact_real_tensor(SafetensorsFile& f, const std::string& name, std::vector<std::uint64_t> shape,
                           const std::vector<ExactReal>& values);

// Entries as doubles (exact for every float dtype).  Throws for U8.
std::vector<double> tensor_doubles(const std::string& file, const std::string& name, const Tensor& t);
// The exact reals a tensor denotes: its companion NAME.exact when present, else the binary
// floating-point values themselves (a bf16 entry is the dyadic rational it encodes).
// Refuses a trigonometric companion entry (tensors that must be rational).
std::vector<Rational> tensor_exact(const std::string& file, const SafetensorsFile& f, const std::string& name);
// The same, allowing the trigonometric entries of exact_real.hpp.
std::vector<ExactReal> tensor_exact_reals(const std::string& file, const SafetensorsFile& f, const std::string& name);

// The nearest double of a rational (round to nearest, ties to even).
double nearest_double(const Rational& x);

}  // namespace attnbounds
