#include "enumerate/mpi_shard.hpp"

#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#ifdef ATTNBOUNDS_HAVE_MPI
#include <mpi.h>
#endif

namespace attnbounds {

#ifdef ATTNBOUNDS_HAVE_MPI

bool mpi_available() { return true; }

std::string mpi_description() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string v(version, static_cast<std::size_t>(len));
  const std::size_t cut = v.find_first_of(",\n");
  return cut == std::string::npos ? v : v.substr(0, cut);
}

MpiShard& MpiShard::start() {
  static MpiShard* shard = [] {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return new MpiShard(rank, size);
  }();
  return *shard;
}

bool MpiShard::assigned(std::uint64_t chunk) { return chunk % static_cast<std::uint64_t>(size_) == static_cast<std::uint64_t>(rank_); }

void MpiShard::exchange(std::vector<std::optional<std::string>>& payloads) {
  // Each rank sends "<chunk> <payload>\n" for the chunks it computed; all ranks receive all.
  std::string mine;
  for (std::uint64_t c = 0; c < payloads.size(); ++c)
    if (assigned(c) && payloads[c]) mine += std::to_string(c) + " " + *payloads[c] + "\n";
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(size_), offsets(size_);
  MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
  long long total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[r] = static_cast<int>(total);
    total += lens[r];
  }
  if (total > 2000000000LL) throw std::runtime_error("mpi: chunk results exceed 2 GB");
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD);
  std::size_t pos = 0;
  while (pos < all.size()) {
    const std::size_t eol = all.find('\n', pos), sp = all.find(' ', pos);
    if (eol == std::string::npos || sp == std::string::npos || sp > eol) throw std::runtime_error("mpi: malformed chunk record");
    const std::uint64_t c = std::stoull(all.substr(pos, sp - pos));
    if (c >= payloads.size()) throw std::runtime_error("mpi: chunk index out of range");
    if (!payloads[c]) payloads[c] = all.substr(sp + 1, eol - sp - 1);
    pos = eol + 1;
  }
}

bool MpiShard::any(bool mine) {
  int v = mine ? 1 : 0, all = 0;
  MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
  return all != 0;
}

bool MpiShard::agree(std::uint64_t value) const {
  unsigned long long v = value, lo = 0, hi = 0;
  MPI_Allreduce(&v, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&v, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

std::uint64_t MpiShard::lowest_failed(std::uint64_t mine) {
  unsigned long long v = mine, lo = 0;
  MPI_Allreduce(&v, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
  return lo;
}

std::uint64_t MpiShard::sum(std::uint64_t value) const {
  unsigned long long v = value, all = 0;
  MPI_Allreduce(&v, &all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  return all;
}

std::vector<std::string> MpiShard::gather(const std::string& mine) const {
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
  MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
  long long total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += lens[static_cast<std::size_t>(r)];
  }
  if (total > 2000000000LL) throw std::runtime_error("mpi: gathered text exceeds 2 GB");
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r)
    out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                             static_cast<std::size_t>(lens[static_cast<std::size_t>(r)])));
  return out;
}

std::string MpiShard::first_of(const std::string& mine) const {
  // Which ranks have text: a bit each in one all-gather, then the first of them broadcasts it.
  int has = mine.empty() ? 0 : 1;
  std::vector<int> all(static_cast<std::size_t>(size_));
  MPI_Allgather(&has, 1, MPI_INT, all.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int root = -1;
  for (int r = 0; r < size_ && root < 0; ++r)
    if (all[static_cast<std::size_t>(r)]) root = r;
  if (root < 0) return "";
  int len = rank_ == root ? static_cast<int>(mine.size()) : 0;
  MPI_Bcast(&len, 1, MPI_INT, root, MPI_COMM_WORLD);
  std::string text = rank_ == root ? mine : std::string(static_cast<std::size_t>(len), '\0');
  MPI_Bcast(text.data(), len, MPI_CHAR, root, MPI_COMM_WORLD);
  return text;
}

#else

bool mpi_available() { return false; }
std::string mpi_description() { return "off: this build has no MPI (configure with OpenMPI installed and -DATTNBOUNDS_MPI=ON)"; }
MpiShard& MpiShard::start() { throw std::runtime_error(mpi_description()); }
bool MpiShard::assigned(std::uint64_t) { return true; }
void MpiShard::exchange(std::vector<std::optional<std::string>>&) {}
bool MpiShard::any(bool mine) { return mine; }
std::uint64_t MpiShard::lowest_failed(std::uint64_t mine) { return mine; }
bool MpiShard::agree(std::uint64_t) const { return true; }
std::uint64_t MpiShard::sum(std::uint64_t value) const { return value; }
std::string MpiShard::first_of(const std::string& mine) const { return mine; }
std::vector<std::string> MpiShard::gather(const std::string& mine) const { return {mine}; }

#endif

}  // namespace attnbounds
