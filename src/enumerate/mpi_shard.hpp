// Sharding a reduction over MPI ranks (`mpirun -np K`): rank r computes the chunks c with
// c mod K = r, and every rank receives every chunk's serialised partial, so each combines them in
// chunk order and obtains the result of a single process, bit for bit.  Built only when CMake
// found MPI (ATTNBOUNDS_MPI); otherwise mpi_available() is false and start() throws.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "enumerate/parallel.hpp"

namespace attnbounds {

bool mpi_available();
// "OpenMPI x.y" or why it is off.
std::string mpi_description();

class MpiShard : public ChunkHooks {
 public:
  // Initialises MPI (once per process); throws std::runtime_error when MPI is not built in.
  static MpiShard& start();
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool assigned(std::uint64_t chunk) override;
  void exchange(std::vector<std::optional<std::string>>& payloads) override;
  bool any(bool mine) override;
  std::uint64_t lowest_failed(std::uint64_t mine) override;
  std::string shared_error(const std::string& mine) override { return first_of(mine); }
  // Whether every rank reached the same value (an all-reduce of min and max).
  bool agree(std::uint64_t value) const;
  // The sum of `value` over the ranks (collective).
  std::uint64_t sum(std::uint64_t value) const;
  // The first non-empty `mine` in rank order, or "" when every rank gives "" (collective): how
  // one rank's error reaches the others, so every rank ends the same way.
  std::string first_of(const std::string& mine) const;
  // Every rank's `mine`, in rank order (collective).
  std::vector<std::string> gather(const std::string& mine) const;

 private:
  MpiShard(int rank, int size) : rank_(rank), size_(size) {}
  int rank_ = 0, size_ = 1;
};

}  // namespace attnbounds
