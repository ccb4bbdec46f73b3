#include "enumerate/parallel.hpp"

#include <glpk.h>
#include <mpfr.h>

namespace attnbounds {

void release_thread_resources() {
  mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
  // GLPK creates an environment per thread on first use (the LPs of Theorem 2) and keeps it in
  // thread-local storage; glp_free_env frees it and is a no-op on a thread that never used GLPK.
  glp_free_env();
}

}  // namespace attnbounds
