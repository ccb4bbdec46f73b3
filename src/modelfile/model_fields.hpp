// Reading the fields of a model file (metadata and tables), shared by the Match classes.  Every
// error is a ModelFileError naming the file and the field.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "modelfile/safetensors.hpp"

namespace attnbounds::model_fields {

const std::string& meta(const std::string& file, const SafetensorsFile& f, const std::string& key);
long long meta_int(const std::string& file, const SafetensorsFile& f, const std::string& key, long long lo, long long hi);
std::string shape_text(const std::vector<std::uint64_t>& s);
// Refuses unless the tensor NAME exists, has a float dtype and the required shape (`why` says
// what the shape is for).
void require_table(const std::string& file, const SafetensorsFile& f, const std::string& name,
                   const std::vector<std::uint64_t>& shape, const std::string& why);
// The tensor NAME as exact reals, with the required shape (a float dtype).
std::vector<ExactReal> table(const std::string& file, const SafetensorsFile& f, const std::string& name,
                             const std::vector<std::uint64_t>& shape, const std::string& why);
// Dimension `axis` of the rank-2 tensor NAME, required in 1..max_width.
std::uint64_t width_of(const std::string& file, const SafetensorsFile& f, const std::string& name, std::size_t axis,
                       const std::string& what, int max_width);
// "F64+exact", "F32", ...
std::string dtype_label(const SafetensorsFile& f, const std::string& name);
// The distinct labels of the present tensors among `names`, sorted, comma-separated.
std::string dtype_labels(const SafetensorsFile& f, const std::vector<std::string>& names);

// Writes NAME: with its exact companion when `exact` (an F64 tensor of nearest doubles), else
// each entry's nearest double rounded to `dtype`.  Nothing for an empty table.
void put_table(SafetensorsFile& f, const std::string& file, const std::string& name, const std::vector<ExactReal>& values,
               std::vector<std::uint64_t> shape, bool exact, DType dtype);

}  // namespace attnbounds::model_fields
