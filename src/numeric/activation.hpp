// Certified enclosures of the MLP activations of the model-file class attention-unit: ReLU and
// the exact GELU, x·Φ(x) with Φ the standard normal distribution function (PyTorch's default).
#pragma once
#include "numeric/dinterval.hpp"
#include "numeric/interval.hpp"

namespace attnbounds {

// max(x, 0) of every point of x (exact on the endpoints).
DInterval relu(DInterval x);
Interval relu(const Interval& x);

// GELU over x, at x's precision.  Φ is enclosed through MPFR's correctly rounded erf (Φ is
// increasing, so its ends bound it); GELU is increasing above its minimiser x* ≈ −0.7518 and
// decreasing below, and never below −0.16998, which gives the enclosure's ends.
Interval gelu(const Interval& x);
DInterval gelu(DInterval x);  // through gelu(Interval) at 64 bits: not for the hottest loops

}  // namespace attnbounds
